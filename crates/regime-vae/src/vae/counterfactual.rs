//! Counterfactual queries on the learned SCM (Pearl's three steps on the decoder's mechanisms): "what
//! would this sample have been under another regime, or under `do(x_j = v)`?"
//!
//! 1. **Abduction**: the sample's regime `r` is given or inferred (the posterior argmax of `q(r | x)`),
//!    and each node's noise is recovered from the additive-noise model `x_i = mu_i(Pa(x_i), z_r) + eps_i`:
//!    `eps_i = x_i - mu_i(Pa(x_i), z_r)`.
//! 2. **Action**: the code of the asked regime (or any boolean code) and per-node overrides replace the
//!    factual ones.
//! 3. **Prediction**: nodes in topological order, `x'_i = mu_i(Pa(x'_i), z') + eps_i` (`v` for `do(x_i = v)`,
//!    `+ d` for an extra shift), so a node that is neither intervened nor downstream keeps its value.

use ndarray::Array2;

use crate::error::{ensure, Result};
use crate::evaluate::{check_columns, check_finite, RegimeModel};
use crate::vae::model::RegimeVae;
use crate::vae::net::Decoder;
use crate::vae::sample::{Code, Intervention, Override};

impl RegimeVae {
    /// The counterfactual of every row of `x` under `target` (see the module documentation). `factual`
    /// gives each row's regime (0 observational, `j + 1` node `j` intervened); `None` infers it.
    pub fn counterfactual(
        &self,
        x: &Array2<f64>,
        factual: Option<&[usize]>,
        target: &Intervention,
    ) -> Result<Array2<f64>> {
        let n = self.dag().n();
        check_columns(x, n)?;
        check_finite(x)?;
        self.check_overrides(&target.overrides)?;
        let rows = x.nrows();
        let regimes = match factual {
            Some(r) => {
                ensure(r.len() == rows && r.iter().all(|&k| k <= n), || {
                    format!("{} factual regimes in 0..={n} for {rows} rows", r.len())
                })?;
                r.to_vec()
            }
            None => self.assign(x)?,
        };
        let mut factual_code = Array2::zeros((rows, Decoder::code_width(self.config().latent, n)));
        for (r, &k) in regimes.iter().enumerate() {
            factual_code.row_mut(r).assign(&self.code_array(&Code::Cluster(k), 1)?.row(0));
        }
        let noise = x - &self.code_means(x, &factual_code)?;
        let code = self.code_array(&target.code, rows)?;
        let mut out = x.clone();
        for &i in self.dag().order() {
            let mu = self.code_means(&out, &code)?;
            let change =
                target.overrides.iter().rev().find(|(node, _)| *node == i).map(|&(_, c)| c);
            for r in 0..rows {
                out[[r, i]] = match change {
                    Some(Override::Set(v)) => v,
                    Some(Override::Shift(d)) => mu[[r, i]] + d + noise[[r, i]],
                    None => mu[[r, i]] + noise[[r, i]],
                };
            }
        }
        Ok(out)
    }
}
