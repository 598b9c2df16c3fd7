//! Small dense linear algebra for regression: designs have a handful of columns and up to a
//! few thousand rows, so clarity beats blocking. Matrices are row-major `Vec<f64>`.

use crate::AnalyticsError;

/// Cholesky factor `L` (row-major, lower) of a symmetric positive definite `k x k` matrix, or
/// `None` when a pivot is not clearly positive (singular or indefinite).
pub(crate) fn cholesky(a: &[f64], k: usize) -> Option<Vec<f64>> {
    let mut l = vec![0.0; k * k];
    // Relative pivot floor: a pivot this small compared with the diagonal means the columns
    // are (numerically) collinear.
    let scale = (0..k).map(|i| a[i * k + i].abs()).fold(0.0_f64, f64::max);
    for i in 0..k {
        for j in 0..=i {
            let mut s = a[i * k + j];
            for p in 0..j {
                s -= l[i * k + p] * l[j * k + p];
            }
            if i == j {
                // Written so that NaN also fails.
                if s.is_nan() || s <= 1e-13 * scale || !s.is_finite() {
                    return None;
                }
                l[i * k + i] = s.sqrt();
            } else {
                l[i * k + j] = s / l[j * k + j];
            }
        }
    }
    Some(l)
}

/// Solves `L L' x = b`.
pub(crate) fn chol_solve(l: &[f64], k: usize, b: &[f64]) -> Vec<f64> {
    let mut y = vec![0.0; k];
    for i in 0..k {
        let mut s = b[i];
        for p in 0..i {
            s -= l[i * k + p] * y[p];
        }
        y[i] = s / l[i * k + i];
    }
    let mut x = vec![0.0; k];
    for i in (0..k).rev() {
        let mut s = y[i];
        for p in i + 1..k {
            s -= l[p * k + i] * x[p];
        }
        x[i] = s / l[i * k + i];
    }
    x
}

/// Inverse of `L L'`.
pub(crate) fn chol_inverse(l: &[f64], k: usize) -> Vec<f64> {
    let mut inv = vec![0.0; k * k];
    for j in 0..k {
        let mut e = vec![0.0; k];
        e[j] = 1.0;
        let col = chol_solve(l, k, &e);
        for i in 0..k {
            inv[i * k + j] = col[i];
        }
    }
    inv
}

/// Least squares by Householder QR of the `n x k` design `x` (row-major). Returns the
/// coefficients and `(X'X)^-1 = R^-1 R^-T`. QR avoids squaring the condition number, which
/// matters for trend columns `t` next to an intercept.
pub(crate) fn qr_least_squares(
    x: &[f64],
    n: usize,
    k: usize,
    y: &[f64],
) -> Result<(Vec<f64>, Vec<f64>), AnalyticsError> {
    if n < k {
        return Err(AnalyticsError::TooFewObservations { needed: k, have: n });
    }
    // Column-major working copy.
    let mut a: Vec<Vec<f64>> = (0..k)
        .map(|j| (0..n).map(|i| x[i * k + j]).collect())
        .collect();
    let col_norms: Vec<f64> = a
        .iter()
        .map(|c| c.iter().map(|v| v * v).sum::<f64>().sqrt())
        .collect();
    let mut b = y.to_vec();
    let mut r = vec![0.0; k * k];
    for j in 0..k {
        // Householder vector for column j, rows j..n.
        let norm = a[j][j..].iter().map(|v| v * v).sum::<f64>().sqrt();
        if norm.is_nan() || norm <= 1e-12 * col_norms[j].max(f64::MIN_POSITIVE) {
            return Err(AnalyticsError::SingularDesign(format!(
                "column {j} of the design is (numerically) a combination of the others"
            )));
        }
        let alpha = if a[j][j] > 0.0 { -norm } else { norm };
        let mut v: Vec<f64> = a[j][j..].to_vec();
        v[0] -= alpha;
        let vnorm2: f64 = v.iter().map(|t| t * t).sum();
        if vnorm2 > 0.0 {
            for col in a.iter_mut().skip(j) {
                let dot: f64 = v.iter().zip(&col[j..]).map(|(p, q)| p * q).sum();
                let f = 2.0 * dot / vnorm2;
                for (c, vi) in col[j..].iter_mut().zip(&v) {
                    *c -= f * vi;
                }
            }
            let dot: f64 = v.iter().zip(&b[j..]).map(|(p, q)| p * q).sum();
            let f = 2.0 * dot / vnorm2;
            for (c, vi) in b[j..].iter_mut().zip(&v) {
                *c -= f * vi;
            }
        }
        for (i, col) in a.iter().enumerate().skip(j) {
            r[j * k + i] = col[j];
        }
    }
    // Back substitution R beta = Q'y.
    let mut beta = vec![0.0; k];
    for i in (0..k).rev() {
        let mut s = b[i];
        for p in i + 1..k {
            s -= r[i * k + p] * beta[p];
        }
        beta[i] = s / r[i * k + i];
    }
    // R^-1 (upper triangular), then (X'X)^-1 = R^-1 R^-T.
    let mut rinv = vec![0.0; k * k];
    for j in 0..k {
        rinv[j * k + j] = 1.0 / r[j * k + j];
        for i in (0..j).rev() {
            let mut s = 0.0;
            for p in i + 1..=j {
                s += r[i * k + p] * rinv[p * k + j];
            }
            rinv[i * k + j] = -s / r[i * k + i];
        }
    }
    let mut xtx_inv = vec![0.0; k * k];
    for i in 0..k {
        for j in 0..k {
            let mut s = 0.0;
            for p in i.max(j)..k {
                s += rinv[i * k + p] * rinv[j * k + p];
            }
            xtx_inv[i * k + j] = s;
        }
    }
    Ok((beta, xtx_inv))
}

/// `A B A` for symmetric `k x k` matrices (sandwich covariance).
pub(crate) fn sandwich(a: &[f64], b: &[f64], k: usize) -> Vec<f64> {
    let mut ab = vec![0.0; k * k];
    for i in 0..k {
        for j in 0..k {
            ab[i * k + j] = (0..k).map(|p| a[i * k + p] * b[p * k + j]).sum();
        }
    }
    let mut out = vec![0.0; k * k];
    for i in 0..k {
        for j in 0..k {
            out[i * k + j] = (0..k).map(|p| ab[i * k + p] * a[p * k + j]).sum();
        }
    }
    out
}
