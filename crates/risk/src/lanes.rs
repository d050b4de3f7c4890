//! Normal draws for many paths at once.
//!
//! [`Lanes`] holds the Xoshiro256++ states of [`LANES`] paths word by word, so that one step
//! of every generator is a handful of vector instructions, and turns each lane's draws into
//! standard normals with the Box–Muller transform. The logarithm, sine and cosine are
//! polynomials here rather than calls into libm, so the whole draw is adds, multiplies, one
//! division and one square root in every lane at once, with no table and no branch.
//!
//! Accuracy: `ln` is `2·atanh((m−1)/(m+1))` on a mantissa in `[√½, √2)`, summed to the
//! `s¹⁸` term (truncation below 1e-16 relative); sine and cosine are Taylor series on
//! `[−π/4, π/4]` to `t¹⁵` and `t¹⁶` (truncation below 5e-17). The tests hold every draw to
//! libm's Box–Muller within 1e-14. The uniform behind the radius has 52 bits, so the draws
//! reach 8.5 standard deviations.
//!
//! Reproducibility: a lane seeded with [`Lanes::seed`] produces the stream
//! `Xoshiro256PlusPlus::seed_from_u64` would, and every operation is an IEEE operation in a
//! fixed order with no fused multiply-add, so a path's normals do not depend on its lane,
//! on the other lanes, or on the vector width the machine offers.

use std::f64::consts::{FRAC_1_SQRT_2, FRAC_PI_2, SQRT_2};

/// Paths stepped together: two 512-bit vectors of f64, four 256-bit ones.
pub const LANES: usize = 16;

const GOLDEN: u64 = 0x9e37_79b9_7f4a_7c15;
const ONE: u64 = 0x3ff0_0000_0000_0000;

/// Xoshiro256++ generators of [`LANES`] paths, stored word by word.
///
/// Aligned to a cache line: a function holding one gets a frame aligned to 64 bytes, so its
/// vector loads, stores and spills never straddle two lines. Without it, the speed of the
/// same code varied by half with the depth of the thread's stack.
#[derive(Debug, Clone, Copy, Default)]
#[repr(align(64))]
pub struct Lanes {
    s: [[u64; LANES]; 4],
}

impl Lanes {
    /// Seeds `lane` as `Xoshiro256PlusPlus::seed_from_u64(seed)` does: with four successive
    /// SplitMix64 outputs.
    pub fn seed(&mut self, lane: usize, seed: u64) {
        for (j, word) in self.s.iter_mut().enumerate() {
            word[lane] = crate::paths::splitmix(seed.wrapping_add((j as u64).wrapping_mul(GOLDEN)));
        }
    }

    /// The next output of every lane's generator.
    #[inline(always)]
    pub fn next_u64s(&mut self) -> [u64; LANES] {
        let [s0, s1, s2, s3] = &mut self.s;
        let mut out = [0u64; LANES];
        for l in 0..LANES {
            out[l] = s0[l].wrapping_add(s3[l]).rotate_left(23).wrapping_add(s0[l]);
            let t = s1[l] << 17;
            s2[l] ^= s0[l];
            s3[l] ^= s1[l];
            s1[l] ^= s2[l];
            s0[l] ^= s3[l];
            s2[l] ^= t;
            s3[l] = s3[l].rotate_left(45);
        }
        out
    }

    /// Two independent standard normals in every lane, from two draws of its generator.
    #[inline(always)]
    pub fn normal_pairs(&mut self) -> ([f64; LANES], [f64; LANES]) {
        let a = self.next_u64s();
        let b = self.next_u64s();
        let mut z0 = [0.0; LANES];
        let mut z1 = [0.0; LANES];
        for l in 0..LANES {
            (z0[l], z1[l]) = box_muller(a[l], b[l]);
        }
        (z0, z1)
    }

    /// Two standard normals in every lane from one draw of its generator, computed in single
    /// precision ([`box_muller_single`]) and widened to f64.
    #[inline(always)]
    pub fn single_normal_pairs(&mut self) -> ([f64; LANES], [f64; LANES]) {
        let a = self.next_u64s();
        let mut z0 = [0.0; LANES];
        let mut z1 = [0.0; LANES];
        for l in 0..LANES {
            let (x, y) = box_muller_single(a[l]);
            (z0[l], z1[l]) = (f64::from(x), f64::from(y));
        }
        (z0, z1)
    }
}

/// One standard normal a call in every lane, from a Box–Muller pair every other call: the
/// draws of one stream of [`LANES`] paths, each lane's a function of its own seed only.
#[derive(Debug, Clone, Copy, Default)]
#[repr(align(64))]
pub struct Normals {
    lanes: Lanes,
    spare: [f64; LANES],
    odd: bool,
}

impl Normals {
    /// Seeds `lane` (see [`Lanes::seed`]); every lane must be seeded before the first draw.
    pub fn seed(&mut self, lane: usize, seed: u64) {
        self.lanes.seed(lane, seed);
    }

    /// The next normal of every lane.
    #[inline(always)]
    pub fn draw(&mut self) -> [f64; LANES] {
        self.odd = !self.odd;
        if self.odd {
            let (z0, z1) = self.lanes.normal_pairs();
            self.spare = z1;
            z0
        } else {
            self.spare
        }
    }

    /// The next raw 64-bit output of every lane's generator, for a draw that is not a normal
    /// (a bootstrap's block, a jump count). Taken between pairs only: a stream mixes the two
    /// kinds of draw only at steps every lane reaches together.
    #[inline(always)]
    pub fn next_u64s(&mut self) -> [u64; LANES] {
        self.lanes.next_u64s()
    }
}

/// `e^x` for `x` in [−708, 709] (outside, the bound's value), with no call into libm: `x`
/// split as `k·ln 2 + r` with `|r| ≤ ln 2 / 2` (Cody and Waite's two-part ln 2), `e^r` by its
/// Taylor series to `r¹³` (truncation below 5e-18), scaled by `2^k` through the exponent's
/// bits. Adds, multiplies and bit operations only, so it vectorises; within 2 ulp of libm
/// (the tests hold it to 4e-16 relative).
#[inline(always)]
pub fn exp(x: f64) -> f64 {
    let x = x.clamp(-708.0, 709.0);
    // k = round(x / ln 2) by the 1.5·2⁵² shifter, whose last bits then hold k.
    let t = x * std::f64::consts::LOG2_E + SHIFTER;
    let k = t - SHIFTER;
    let r = (x - k * EXP_LN2_HI) - k * EXP_LN2_LO;
    let p = horner(r, &EXP);
    let scale = f64::from_bits(t.to_bits().wrapping_add(1023) << 52);
    p * scale
}

const SHIFTER: f64 = 6_755_399_441_055_744.0;
/// ln 2's upper 32 bits, so that `k·EXP_LN2_HI` is exact for every |k| < 2²⁰, and the rest.
const EXP_LN2_HI: f64 = 0.693_147_180_369_123_8;
const EXP_LN2_LO: f64 = 1.908_214_929_270_587_7e-10;
/// `1/k!`.
const EXP: [f64; 14] = [
    1.0,
    1.0,
    0.5,
    0.166_666_666_666_666_66,
    0.041_666_666_666_666_664,
    0.008_333_333_333_333_333,
    0.001_388_888_888_888_889,
    0.000_198_412_698_412_698_4,
    2.480_158_730_158_73e-5,
    2.755_731_922_398_589e-6,
    2.755_731_922_398_589_3e-7,
    2.505_210_838_544_172e-8,
    2.087_675_698_786_81e-9,
    1.605_904_383_682_161_3e-10,
];

/// Two independent standard normals from one 64-bit draw, in single precision.
///
/// The same transform as [`box_muller`] with the bits shared out: the top 31 bits give the
/// radius's uniform `u = (k + ½)·2⁻³¹` in (0, 1], bits 8 to 30 the angle, bits 0 and 1 the
/// signs. The smallest `u` is 2⁻³², so the draws reach `sqrt(64·ln 2)` ≈ 6.66 standard
/// deviations: a normal passes that with probability 2.7·10⁻¹¹, once in some four million
/// years of hourly steps. Each result is within 1e-6·(1 + |z|) of the f64 transform of the same
/// uniforms (the tests hold it to that).
#[inline(always)]
pub fn box_muller_single(a: u64) -> (f32, f32) {
    let k = (a >> 33) as i32;
    let u = (k as f32 + 0.5) * (1.0 / 2_147_483_648.0);
    let r = (-2.0 * ln_single(u)).sqrt();
    let v = f32::from_bits(((a as u32) >> 9) | 0x3f80_0000);
    let t = (v - 1.5) * std::f32::consts::FRAC_PI_2;
    let (sin, cos) = sin_cos_single(t);
    let c = std::f32::consts::FRAC_1_SQRT_2 * (cos - sin);
    let s = std::f32::consts::FRAC_1_SQRT_2 * (cos + sin);
    let z0 = f32::from_bits((r * c).to_bits() ^ ((a as u32 & 1) << 31));
    let z1 = f32::from_bits((r * s).to_bits() ^ ((a as u32 & 2) << 30));
    (z0, z1)
}

/// Natural logarithm of a positive normal f32, as [`ln`] with the series cut for single
/// precision: the first omitted term, `s¹⁰/11` relative, is below 2·10⁻⁹.
#[inline(always)]
pub fn ln_single(u: f32) -> f32 {
    let bits = u.to_bits();
    let m = f32::from_bits((bits & 0x007f_ffff) | 0x3f80_0000);
    let biased = ((bits >> 23) as i32) as f32;
    let big = m > std::f32::consts::SQRT_2;
    let m = if big { 0.5 * m } else { m };
    let e = biased - if big { 126.0 } else { 127.0 };
    let s = (m - 1.0) / (m + 1.0);
    let z = s * s;
    let p = horner(z, &ATANH_SINGLE);
    e * LN2_HI_SINGLE + (e * LN2_LO_SINGLE + 2.0 * s * p)
}

/// Sine and cosine of `t` in [−π/4, π/4], in single precision: the first omitted terms,
/// `t¹¹/11!` and `t¹²/12!`, are below 2·10⁻⁹.
#[inline(always)]
pub fn sin_cos_single(t: f32) -> (f32, f32) {
    let z = t * t;
    (t * horner(z, &SIN_SINGLE), horner(z, &COS_SINGLE))
}

/// Two independent standard normals from two 64-bit draws.
///
/// The radius is `sqrt(−2·ln u)` with `u` in (0, 1] from the top 52 bits of `a`; the angle is
/// `φ = (π/2)·v` with `v` in [0, 1) from the top 52 bits of `b`, and the quadrant comes from
/// two low bits of `a` as the signs of the two results, which spreads `φ` uniformly over the
/// circle.
#[inline(always)]
pub fn box_muller(a: u64, b: u64) -> (f64, f64) {
    let u = 2.0 - unit(a);
    let r = (-2.0 * ln(u)).sqrt();
    // t = φ − π/4 in [−π/4, π/4); cos φ and sin φ from the rotation by π/4.
    let t = (unit(b) - 1.5) * FRAC_PI_2;
    let (sin, cos) = sin_cos(t);
    let c = FRAC_1_SQRT_2 * (cos - sin);
    let s = FRAC_1_SQRT_2 * (cos + sin);
    let z0 = f64::from_bits((r * c).to_bits() ^ ((a & 1) << 63));
    let z1 = f64::from_bits((r * s).to_bits() ^ ((a & 2) << 62));
    (z0, z1)
}

/// The top 52 bits as a float in [1, 2).
#[inline(always)]
fn unit(bits: u64) -> f64 {
    f64::from_bits((bits >> 12) | ONE)
}

/// Natural logarithm of a positive normal `u`.
#[inline(always)]
pub fn ln(u: f64) -> f64 {
    let bits = u.to_bits();
    let m = f64::from_bits((bits & 0x000f_ffff_ffff_ffff) | ONE);
    // The biased exponent as a float: the integer placed in the mantissa of 2^52.
    let biased = f64::from_bits((bits >> 52) | 0x4330_0000_0000_0000) - 4_503_599_627_370_496.0;
    let big = m > SQRT_2;
    let m = if big { 0.5 * m } else { m };
    let e = biased - if big { 1022.0 } else { 1023.0 };
    let s = (m - 1.0) / (m + 1.0);
    let z = s * s;
    let p = horner(z, &ATANH);
    e * LN2_HI + (e * LN2_LO + 2.0 * s * p)
}

/// Sine and cosine of `t` in [−π/4, π/4].
#[inline(always)]
pub fn sin_cos(t: f64) -> (f64, f64) {
    let z = t * t;
    (t * horner(z, &SIN), horner(z, &COS))
}

/// `Σ cₖ·zᵏ` by Horner's rule, a multiply and an add at each step (no fused multiply-add, so
/// every machine rounds alike).
#[inline(always)]
fn horner<T: Copy + std::ops::Mul<Output = T> + std::ops::Add<Output = T>>(z: T, c: &[T]) -> T {
    let (last, rest) = c.split_last().expect("at least one coefficient");
    rest.iter().rev().fold(*last, |p, &k| p * z + k)
}

/// ln 2 split so that `e·LN2_HI` is exact for the exponents of (0, 1].
const LN2_HI: f64 = 0.693_147_180_559_890_3;
const LN2_LO: f64 = 5.497_923_018_708_371e-14;
/// `1/(2k+1)`: `ln m = 2·atanh(s) = 2s·Σ s²ᵏ/(2k+1)` with `s = (m−1)/(m+1)`, `|s| < 0.172`.
const ATANH: [f64; 10] = [
    1.0,
    0.333_333_333_333_333_3,
    0.2,
    0.142_857_142_857_142_85,
    0.111_111_111_111_111_1,
    0.090_909_090_909_090_91,
    0.076_923_076_923_076_93,
    0.066_666_666_666_666_67,
    0.058_823_529_411_764_705,
    0.052_631_578_947_368_42,
];
/// ln 2 split so that `e·LN2_HI_SINGLE` is exact for the exponents of f32 (Cephes' split).
const LN2_HI_SINGLE: f32 = 355.0 / 512.0;
const LN2_LO_SINGLE: f32 = -2.121_944_4e-4;
const ATANH_SINGLE: [f32; 5] = [1.0, 0.333_333_34, 0.2, 0.142_857_15, 0.111_111_11];
const SIN_SINGLE: [f32; 5] = [1.0, -0.166_666_67, 0.008_333_334, -0.000_198_412_7, 2.755_732e-6];
const COS_SINGLE: [f32; 6] =
    [1.0, -0.5, 0.041_666_668, -0.001_388_888_9, 2.480_158_7e-5, -2.755_732e-7];
/// `(−1)ᵏ/(2k+1)!`.
const SIN: [f64; 8] = [
    1.0,
    -0.166_666_666_666_666_66,
    0.008_333_333_333_333_333,
    -0.000_198_412_698_412_698_4,
    2.755_731_922_398_589_3e-6,
    -2.505_210_838_544_172e-8,
    1.605_904_383_682_161_3e-10,
    -7.647_163_731_819_816e-13,
];
/// `(−1)ᵏ/(2k)!`.
const COS: [f64; 9] = [
    1.0,
    -0.5,
    0.041_666_666_666_666_664,
    -0.001_388_888_888_888_889,
    2.480_158_730_158_73e-5,
    -2.755_731_922_398_589e-7,
    2.087_675_698_786_81e-9,
    -1.147_074_559_772_972_5e-11,
    4.779_477_332_387_385e-14,
];

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{RngCore, SeedableRng};
    use rand_xoshiro::Xoshiro256PlusPlus;

    #[test]
    fn lanes_are_xoshiro_seeded_from_u64() {
        let mut lanes = Lanes::default();
        let mut rngs: Vec<_> = (0..LANES as u64)
            .map(|l| {
                let seed = crate::paths::splitmix(l * 7919);
                lanes.seed(l as usize, seed);
                Xoshiro256PlusPlus::seed_from_u64(seed)
            })
            .collect();
        for _ in 0..1000 {
            let out = lanes.next_u64s();
            for (l, rng) in rngs.iter_mut().enumerate() {
                assert_eq!(out[l], rng.next_u64(), "lane {l}");
            }
        }
    }

    #[test]
    fn polynomials_match_libm() {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(3);
        for _ in 0..200_000 {
            let (a, b) = (rng.next_u64(), rng.next_u64());
            let u = 2.0 - unit(a);
            assert!((ln(u) - u.ln()).abs() <= 1e-15 * u.ln().abs(), "{u}");
            let t = (unit(b) - 1.5) * FRAC_PI_2;
            let (s, c) = sin_cos(t);
            assert!((s - t.sin()).abs() < 4e-16 && (c - t.cos()).abs() < 4e-16, "{t}");
            let phi = (unit(b) - 1.0) * FRAC_PI_2;
            let r = (-2.0 * u.ln()).sqrt();
            let (z0, z1) = box_muller(a, b);
            let w0 = if a & 1 == 1 { -r * phi.cos() } else { r * phi.cos() };
            let w1 = if a & 2 == 2 { -r * phi.sin() } else { r * phi.sin() };
            assert!((z0 - w0).abs() < 1e-14 && (z1 - w1).abs() < 1e-14, "{a} {b}");
        }
        // The extremes: u = 1 gives a zero radius, the smallest u the largest.
        assert_eq!(ln(1.0), 0.0);
        let tiny = 2.0 - unit(u64::MAX);
        assert!((ln(tiny) - tiny.ln()).abs() < 1e-14);
    }

    #[test]
    fn exp_matches_libm() {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(9);
        let check = |x: f64| {
            let (got, want) = (exp(x), x.exp());
            assert!((got - want).abs() <= 4e-16 * want, "exp({x}) = {got}, libm {want}");
        };
        for _ in 0..200_000 {
            // Uniform over [−40, 40], and over the whole range.
            let u = (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
            check(80.0 * u - 40.0);
            check(1416.0 * u - 707.0);
        }
        for x in [0.0, 1.0, -1.0, 1e-300, -1e-300, 0.5 * std::f64::consts::LN_2, 709.0, -708.0] {
            check(x);
        }
        assert_eq!(exp(0.0), 1.0);
        assert_eq!(exp(-1e9), exp(-708.0));
    }

    #[test]
    fn normals_are_box_muller_pairs_in_turn() {
        let mut normals = Normals::default();
        let mut lanes = Lanes::default();
        for l in 0..LANES {
            normals.seed(l, l as u64 + 100);
            lanes.seed(l, l as u64 + 100);
        }
        for _ in 0..100 {
            let (z0, z1) = lanes.normal_pairs();
            assert_eq!(normals.draw(), z0);
            assert_eq!(normals.draw(), z1);
        }
    }

    #[test]
    fn single_precision_transform_is_the_f64_one_to_seven_digits() {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(5);
        let mut largest = 0.0f32;
        for _ in 0..1_000_000 {
            let a = rng.next_u64();
            // The same f32 uniforms through libm in f64.
            let u = f64::from((((a >> 33) as i32) as f32 + 0.5) * (1.0 / 2_147_483_648.0));
            let phi = (f64::from(((a as u32) >> 9) as f32) / 8_388_608.0) * FRAC_PI_2;
            let r = (-2.0 * u.ln()).sqrt();
            let w0 = if a & 1 == 1 { -r * phi.cos() } else { r * phi.cos() };
            let w1 = if a & 2 == 2 { -r * phi.sin() } else { r * phi.sin() };
            let (z0, z1) = box_muller_single(a);
            let (z0, z1) = (f64::from(z0), f64::from(z1));
            assert!((z0 - w0).abs() <= 1e-6 * (1.0 + w0.abs()), "{a}: {z0} vs {w0}");
            assert!((z1 - w1).abs() <= 1e-6 * (1.0 + w1.abs()), "{a}: {z1} vs {w1}");
            largest = largest.max(z0.abs() as f32).max(z1.abs() as f32);
        }
        assert!(largest < 6.0, "a million pairs stay inside 6σ: {largest}");
        for u in [1.0f32, 0.75, 0.5, 1e-3, 2.0f32.powi(-32), 0.999_999_9] {
            let (got, want) = (f64::from(ln_single(u)), f64::from(u).ln());
            assert!((got - want).abs() <= 2e-7 * want.abs().max(1e-7), "ln {u}: {got} vs {want}");
        }
        // The extremes: all radius bits zero is u = 2⁻³², the largest radius, √(64·ln 2); all
        // ones rounds to u = 1 and a zero radius.
        let edge = (64.0 * std::f64::consts::LN_2).sqrt();
        let (z0, z1) = box_muller_single(0x0000_0001_0000_0000 >> 1);
        let r = f64::from(z0).hypot(f64::from(z1));
        assert!((r - edge).abs() < 1e-5 && edge < 6.67, "{r} vs {edge}");
        assert_eq!(box_muller_single(u64::MAX), (-0.0, -0.0));
    }
}
