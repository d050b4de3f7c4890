//! The one-year benchmark as a plain program, for profilers that want a process rather than a
//! criterion run: `cargo build --release --example year_profile` then, for instance,
//! `valgrind --tool=callgrind target/release/examples/year_profile 1` or
//! `perf record -g target/release/examples/year_profile 50`. The argument is how many years
//! to replay (default 1).

#[path = "../benches/year/mod.rs"]
#[allow(dead_code)]
mod year;

fn main() {
    let years = std::env::args().nth(1).map_or(1, |n| n.parse().expect("a number of years"));
    let base = year::market();
    let closes = year::closes_2022();
    let mut worst = 0;
    for _ in 0..years {
        let mut m = base.clone();
        worst = worst.max(year::year_of_hourly_steps(&mut m, &closes));
    }
    std::hint::black_box(worst);
}
