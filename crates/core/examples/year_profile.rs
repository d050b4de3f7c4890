//! The one-year benchmark as a plain program, for profilers that want a process rather than a
//! criterion run: `cargo build --release --example year_profile` then, for instance,
//! `valgrind --tool=callgrind target/release/examples/year_profile 1` or
//! `perf record -g target/release/examples/year_profile 50`. The argument is how many years
//! to replay (default 1); a second argument `range` replays the v3 range position instead.

#[path = "../benches/year/mod.rs"]
#[allow(dead_code)]
mod year;

fn main() {
    let years = std::env::args().nth(1).map_or(1, |n| n.parse().expect("a number of years"));
    let range = std::env::args().nth(2).is_some_and(|kind| kind == "range");
    let base = if range { year::range_market() } else { year::market() };
    let closes = year::closes_2022();
    let mut worst = 0;
    for _ in 0..years {
        let mut m = base.clone();
        let steps = if range {
            year::range_year_of_hourly_steps(&mut m, &closes).0
        } else {
            year::year_of_hourly_steps(&mut m, &closes)
        };
        worst = worst.max(steps);
    }
    std::hint::black_box(worst);
}
