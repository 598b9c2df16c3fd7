//! Brute-force Hamming scan over a dense hash array, with SIMD kernels chosen at run time.
//!
//! The default `x86_64` target has no `popcnt` instruction enabled, so a plain `count_ones`
//! compiles to a dozen bit-twiddling instructions per limb. The kernels below are compiled
//! with `#[target_feature]` and picked once per process with `is_x86_feature_detected!`:
//!
//! * AVX-512 VPOPCNTDQ: eight hashes per iteration, one `vpopcntq` per two hashes, and a
//!   transpose-add that leaves the eight distances in one register for a single compare.
//! * AVX2: the nibble-lookup popcount (`vpshufb`) with `vpsadbw`, four hashes per iteration.
//! * POPCNT: the scalar loop with the hardware instruction.
//! * Portable: the same scalar loop without it (any target).

use std::sync::OnceLock;

/// One 256-bit hash as four 64-bit limbs, least significant first (`Hash256::limbs()`).
pub type Limbs = [u64; 4];

/// A brute-force scan implementation. [`ScanKernel::best`] is what [`brute_force_scan`] uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ScanKernel {
    /// AVX-512F with VPOPCNTDQ (Ice Lake and later, Zen 4 and later).
    Avx512Vpopcntdq,
    /// AVX2 with the nibble-lookup popcount (Haswell and later).
    Avx2,
    /// Scalar loop using the POPCNT instruction.
    Popcnt,
    /// Scalar loop without any CPU feature (bit-twiddling popcount on x86_64 baseline).
    Portable,
}

impl ScanKernel {
    /// Every kernel, fastest first.
    pub const ALL: [ScanKernel; 4] = [
        ScanKernel::Avx512Vpopcntdq,
        ScanKernel::Avx2,
        ScanKernel::Popcnt,
        ScanKernel::Portable,
    ];

    /// Whether this CPU can run the kernel.
    pub fn is_supported(self) -> bool {
        match self {
            ScanKernel::Portable => true,
            #[cfg(target_arch = "x86_64")]
            ScanKernel::Popcnt => std::arch::is_x86_feature_detected!("popcnt"),
            #[cfg(target_arch = "x86_64")]
            ScanKernel::Avx2 => std::arch::is_x86_feature_detected!("avx2"),
            #[cfg(target_arch = "x86_64")]
            ScanKernel::Avx512Vpopcntdq => {
                std::arch::is_x86_feature_detected!("avx512f")
                    && std::arch::is_x86_feature_detected!("avx512vpopcntdq")
            }
            #[cfg(not(target_arch = "x86_64"))]
            _ => false,
        }
    }

    /// The fastest kernel this CPU supports (detected once, then cached).
    pub fn best() -> ScanKernel {
        static BEST: OnceLock<ScanKernel> = OnceLock::new();
        *BEST.get_or_init(|| {
            ScanKernel::ALL
                .into_iter()
                .find(|kernel| kernel.is_supported())
                .unwrap_or(ScanKernel::Portable)
        })
    }
}

/// Appends `(slot, distance)` for every `hashes[slot]` within `radius` of `query`, in slot order.
///
/// Uses the fastest kernel for this CPU ([`ScanKernel::best`]). `out` is not cleared.
pub fn brute_force_scan(
    hashes: &[Limbs],
    query: &takedown_signals::Hash256,
    radius: u32,
    out: &mut Vec<(u32, u32)>,
) {
    scan_limbs(ScanKernel::best(), hashes, &query.limbs(), radius, out);
}

/// [`brute_force_scan`] with a chosen kernel; an unsupported kernel falls back to
/// [`ScanKernel::Portable`] (for tests and benchmarks).
pub fn brute_force_scan_with(
    kernel: ScanKernel,
    hashes: &[Limbs],
    query: &takedown_signals::Hash256,
    radius: u32,
    out: &mut Vec<(u32, u32)>,
) {
    scan_limbs(kernel, hashes, &query.limbs(), radius, out);
}

pub(crate) fn scan_limbs(
    kernel: ScanKernel,
    hashes: &[Limbs],
    query: &Limbs,
    radius: u32,
    out: &mut Vec<(u32, u32)>,
) {
    // No distance exceeds 256; clamping keeps the AVX2 kernel's signed compare valid.
    let radius = radius.min(256);
    match kernel {
        #[cfg(target_arch = "x86_64")]
        ScanKernel::Avx512Vpopcntdq if kernel.is_supported() => {
            // SAFETY: `is_supported` checked avx512f and avx512vpopcntdq on this CPU.
            unsafe { x86::scan_avx512(hashes, query, radius, out) }
        }
        #[cfg(target_arch = "x86_64")]
        ScanKernel::Avx2 if kernel.is_supported() => {
            // SAFETY: `is_supported` checked avx2 on this CPU.
            unsafe { x86::scan_avx2(hashes, query, radius, out) }
        }
        #[cfg(target_arch = "x86_64")]
        ScanKernel::Popcnt if kernel.is_supported() => {
            // SAFETY: `is_supported` checked popcnt on this CPU.
            unsafe { x86::scan_popcnt(hashes, query, radius, out) }
        }
        _ => scan_portable(hashes, query, radius, out),
    }
}

#[inline(always)]
pub(crate) fn distance(a: &Limbs, b: &Limbs) -> u32 {
    (a[0] ^ b[0]).count_ones()
        + (a[1] ^ b[1]).count_ones()
        + (a[2] ^ b[2]).count_ones()
        + (a[3] ^ b[3]).count_ones()
}

#[inline(always)]
fn scan_scalar_from(
    hashes: &[Limbs],
    start: usize,
    query: &Limbs,
    radius: u32,
    out: &mut Vec<(u32, u32)>,
) {
    for (offset, hash) in hashes[start..].iter().enumerate() {
        let d = distance(hash, query);
        if d <= radius {
            out.push(((start + offset) as u32, d));
        }
    }
}

fn scan_portable(hashes: &[Limbs], query: &Limbs, radius: u32, out: &mut Vec<(u32, u32)>) {
    scan_scalar_from(hashes, 0, query, radius, out);
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::{scan_scalar_from, Limbs};
    use std::arch::x86_64::*;

    #[target_feature(enable = "popcnt")]
    pub(super) fn scan_popcnt(
        hashes: &[Limbs],
        query: &Limbs,
        radius: u32,
        out: &mut Vec<(u32, u32)>,
    ) {
        scan_scalar_from(hashes, 0, query, radius, out);
    }

    #[target_feature(enable = "avx2,popcnt")]
    pub(super) fn scan_avx2(
        hashes: &[Limbs],
        query: &Limbs,
        radius: u32,
        out: &mut Vec<(u32, u32)>,
    ) {
        // Nibble popcount table, repeated in both 128-bit lanes (vpshufb works per lane).
        let table = _mm256_setr_epi8(
            0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4, 0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2,
            3, 3, 4,
        );
        let low_nibbles = _mm256_set1_epi8(0x0f);
        let zero = _mm256_setzero_si256();
        // SAFETY: `query` is 32 readable bytes; loadu has no alignment requirement.
        let q = unsafe { _mm256_loadu_si256(query.as_ptr().cast()) };
        let limit = _mm_set1_epi32(radius as i32);
        let popcount_limbs = |hash: &Limbs| {
            // SAFETY: `hash` is 32 readable bytes; loadu has no alignment requirement.
            let x = _mm256_xor_si256(unsafe { _mm256_loadu_si256(hash.as_ptr().cast()) }, q);
            let lo = _mm256_and_si256(x, low_nibbles);
            let hi = _mm256_and_si256(_mm256_srli_epi16::<4>(x), low_nibbles);
            let bytes = _mm256_add_epi8(
                _mm256_shuffle_epi8(table, lo),
                _mm256_shuffle_epi8(table, hi),
            );
            // Four u64 lanes, each the popcount of one limb (< 2^7).
            _mm256_sad_epu8(bytes, zero)
        };
        let blocks = hashes.len() / 4;
        for block in 0..blocks {
            let base = block * 4;
            let s0 = popcount_limbs(&hashes[base]);
            let s1 = popcount_limbs(&hashes[base + 1]);
            let s2 = popcount_limbs(&hashes[base + 2]);
            let s3 = popcount_limbs(&hashes[base + 3]);
            // Pack two hashes per u64 lane (limb counts are tiny), then sum the four lanes:
            // u = [a_k | b_k << 32], v = [c_k | d_k << 32] for limbs k = 0..4.
            let u = _mm256_or_si256(s0, _mm256_slli_epi64::<32>(s1));
            let v = _mm256_or_si256(s2, _mm256_slli_epi64::<32>(s3));
            // Per 128-bit half: [u0+u1, v0+v1] and [u2+u3, v2+v3].
            let pairs = _mm256_add_epi64(_mm256_unpacklo_epi64(u, v), _mm256_unpackhi_epi64(u, v));
            let sums = _mm_add_epi64(
                _mm256_castsi256_si128(pairs),
                _mm256_extracti128_si256::<1>(pairs),
            );
            // sums as i32: [a, b, c, d] = the four distances.
            let over = _mm_cmpgt_epi32(sums, limit);
            if _mm_movemask_ps(_mm_castsi128_ps(over)) != 0b1111 {
                let mut distances = [0u32; 4];
                // SAFETY: `distances` is 16 writable bytes; storeu has no alignment requirement.
                unsafe { _mm_storeu_si128(distances.as_mut_ptr().cast(), sums) };
                for (lane, &d) in distances.iter().enumerate() {
                    if d <= radius {
                        out.push(((base + lane) as u32, d));
                    }
                }
            }
        }
        scan_scalar_from(hashes, blocks * 4, query, radius, out);
    }

    #[target_feature(enable = "avx512f,avx512vpopcntdq,popcnt")]
    pub(super) fn scan_avx512(
        hashes: &[Limbs],
        query: &Limbs,
        radius: u32,
        out: &mut Vec<(u32, u32)>,
    ) {
        // SAFETY: `query` is 32 readable bytes; loadu has no alignment requirement.
        let q256 = unsafe { _mm256_loadu_si256(query.as_ptr().cast()) };
        let q = _mm512_broadcast_i64x4(q256);
        let limit = _mm512_set1_epi64(i64::from(radius));
        // After the transpose-add below, lane l holds the distance of hash LANE_TO_HASH[l].
        const LANE_TO_HASH: [usize; 8] = [0, 2, 1, 3, 4, 6, 5, 7];
        let blocks = hashes.len() / 8;
        let base_ptr = hashes.as_ptr().cast::<u64>();
        for block in 0..blocks {
            let base = block * 8;
            // SAFETY: hashes[base..base + 8] are in bounds (block < blocks), i.e. 256
            // contiguous readable bytes starting at element `base`; loadu needs no alignment.
            let (z0, z1, z2, z3) = unsafe {
                let p = base_ptr.add(base * 4);
                (
                    _mm512_loadu_si512(p.cast()),
                    _mm512_loadu_si512(p.add(8).cast()),
                    _mm512_loadu_si512(p.add(16).cast()),
                    _mm512_loadu_si512(p.add(24).cast()),
                )
            };
            let z0 = _mm512_popcnt_epi64(_mm512_xor_si512(z0, q));
            let z1 = _mm512_popcnt_epi64(_mm512_xor_si512(z1, q));
            let z2 = _mm512_popcnt_epi64(_mm512_xor_si512(z2, q));
            let z3 = _mm512_popcnt_epi64(_mm512_xor_si512(z3, q));
            // Per 128-bit lane: sums of limb pairs of two hashes.
            let s01 =
                _mm512_add_epi64(_mm512_unpacklo_epi64(z0, z1), _mm512_unpackhi_epi64(z0, z1));
            let s23 =
                _mm512_add_epi64(_mm512_unpacklo_epi64(z2, z3), _mm512_unpackhi_epi64(z2, z3));
            // Gather the low-limb-pair and high-limb-pair halves and add them.
            let t = _mm512_add_epi64(
                _mm512_shuffle_i64x2::<0x88>(s01, s23),
                _mm512_shuffle_i64x2::<0xDD>(s01, s23),
            );
            let hits = _mm512_cmple_epu64_mask(t, limit);
            if hits != 0 {
                let mut distances = [0u64; 8];
                // SAFETY: `distances` is 64 writable bytes; storeu has no alignment requirement.
                unsafe { _mm512_storeu_si512(distances.as_mut_ptr().cast(), t) };
                let mut found = [(0u32, 0u32); 8];
                let mut count = 0;
                for (lane, &d) in distances.iter().enumerate() {
                    if hits & (1 << lane) != 0 {
                        found[count] = ((base + LANE_TO_HASH[lane]) as u32, d as u32);
                        count += 1;
                    }
                }
                // Keep slot order, like the other kernels.
                found[..count].sort_unstable();
                out.extend_from_slice(&found[..count]);
            }
        }
        scan_scalar_from(hashes, blocks * 8, query, radius, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use takedown_signals::Hash256;

    fn pseudo_random(count: usize, seed: u64) -> Vec<Limbs> {
        let mut state = seed;
        let mut next = move || {
            state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        };
        (0..count)
            .map(|_| [next(), next(), next(), next()])
            .collect()
    }

    #[test]
    fn every_kernel_matches_the_portable_scan() {
        let mut hashes = pseudo_random(1003, 7);
        let query = hashes[17];
        // Near neighbours so that every lane position and the tail see hits.
        for (index, hash) in hashes.iter_mut().enumerate().skip(1) {
            if index % 3 == 0 {
                *hash = query;
                hash[index % 4] ^= (1u64 << (index % 64)) | (1u64 << ((index * 7) % 64));
                hash[(index + 1) % 4] ^= u64::MAX >> (index % 64);
            }
        }
        hashes[0] = [!0; 4];
        let q = Hash256::from_limbs(query);
        for radius in [0, 1, 2, 31, 32, 64, 100, 127, 128, 200, 255, 256, 300] {
            let mut expected = Vec::new();
            scan_portable(&hashes, &query, radius, &mut expected);
            for kernel in ScanKernel::ALL {
                for len in [0, 1, 7, 8, 9, 16, 1003] {
                    let mut got = Vec::new();
                    brute_force_scan_with(kernel, &hashes[..len], &q, radius, &mut got);
                    let want: Vec<_> = expected
                        .iter()
                        .copied()
                        .filter(|&(slot, _)| (slot as usize) < len)
                        .collect();
                    assert_eq!(got, want, "{kernel:?} radius {radius} len {len}");
                }
            }
        }
    }
}
