//! Which shard of a run this process computes: `--shard I/N`, or a scheduler's array index
//! (Slurm, Kubernetes Indexed Jobs, AWS Batch) with the shard count. Shards are 0-based here.

/// `"I/N"` (1-based, as the flag is written) as `(I − 1, N)`.
pub fn parse(text: &str) -> Result<(u64, u64), String> {
    let (i, n) = text
        .split_once('/')
        .and_then(|(i, n)| Some((i.trim().parse::<u64>().ok()?, n.trim().parse::<u64>().ok()?)))
        .ok_or_else(|| format!("--shard {text:?}: expected I/N, e.g. 3/8"))?;
    if n == 0 || i == 0 || i > n {
        return Err(format!("--shard {text}: I must be between 1 and N"));
    }
    Ok((i - 1, n))
}

/// The shard a scheduler's array index names, read with `env`: `SLURM_ARRAY_TASK_ID`
/// (counted from `SLURM_ARRAY_TASK_MIN`, with `SLURM_ARRAY_TASK_COUNT` shards unless `shards`
/// says), `JOB_COMPLETION_INDEX` (Kubernetes) or `AWS_BATCH_JOB_ARRAY_INDEX`, both from 0 and
/// needing `shards`. `None` when no scheduler set one.
pub fn from_scheduler(
    shards: Option<u64>,
    env: impl Fn(&str) -> Option<String>,
) -> Result<Option<(u64, u64)>, String> {
    let env = |k: &str| env(k).filter(|v| !v.trim().is_empty());
    let found = [
        ("SLURM_ARRAY_TASK_ID", env("SLURM_ARRAY_TASK_MIN")),
        ("JOB_COMPLETION_INDEX", None),
        ("AWS_BATCH_JOB_ARRAY_INDEX", None),
    ]
    .into_iter()
    .find_map(|(k, min)| env(k).map(|v| (k, v, min)));
    let Some((key, value, min)) = found else { return Ok(None) };
    let index: u64 =
        value.trim().parse().map_err(|_| format!("{key}={value:?} is not a shard index"))?;
    let min: u64 = match min {
        Some(m) => m.trim().parse().map_err(|_| format!("SLURM_ARRAY_TASK_MIN={m:?}"))?,
        None => 0,
    };
    let n = match shards {
        Some(n) => n,
        None if key == "SLURM_ARRAY_TASK_ID" => env("SLURM_ARRAY_TASK_COUNT")
            .and_then(|c| c.trim().parse().ok())
            .ok_or_else(|| format!("{key} is set: give the shard count with --shards N"))?,
        None => return Err(format!("{key} is set: give the shard count with --shards N")),
    };
    let i = index
        .checked_sub(min)
        .filter(|i| *i < n)
        .ok_or_else(|| format!("{key}={index} is outside the {n} shards (first index {min})"))?;
    Ok(Some((i, n)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| pairs.iter().find(|(key, _)| *key == k).map(|(_, v)| v.to_string())
    }

    #[test]
    fn the_flag_and_each_scheduler_name_a_shard() {
        assert_eq!(parse("3/8"), Ok((2, 8)));
        assert!(parse("9/8").is_err() && parse("0/8").is_err() && parse("x").is_err());
        let slurm = [
            ("SLURM_ARRAY_TASK_ID", "5"),
            ("SLURM_ARRAY_TASK_MIN", "1"),
            ("SLURM_ARRAY_TASK_COUNT", "32"),
        ];
        assert_eq!(from_scheduler(None, vars(&slurm)), Ok(Some((4, 32))));
        let k8s = [("JOB_COMPLETION_INDEX", "0")];
        assert_eq!(from_scheduler(Some(4), vars(&k8s)), Ok(Some((0, 4))));
        assert!(from_scheduler(None, vars(&k8s)).unwrap_err().contains("--shards N"));
        let aws = [("AWS_BATCH_JOB_ARRAY_INDEX", "4")];
        assert!(from_scheduler(Some(4), vars(&aws)).unwrap_err().contains("outside the 4 shards"));
        assert_eq!(from_scheduler(Some(4), vars(&[])), Ok(None));
    }
}
