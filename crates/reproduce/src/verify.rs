//! `reproduce --verify`: the checks of a results folder as written, without running anything.
//!
//! Verifying reads each part's `results/<part>.json` back as the part's typed result (and its `meta`
//! object) and applies the part's checks to it again, so a folder whose parts were computed elsewhere
//! (Figure 1 on a GPU machine, Table 1 on this one) or long ago is verified without its checkpoints.
//! A part that is missing, unreadable, not this build's result type, or recorded in the other mode
//! fails the verification as an outside check does.

use std::path::Path;

use anyhow::{anyhow, bail, Context as _, Result};
use serde::Deserialize;
use serde_json::Value;

use crate::checks::Check;
use crate::context::Mode;
use crate::part::AnyPart;
use crate::report::Meta;

/// The provenance fields verification reports.
#[derive(Deserialize)]
struct Origin {
    git_revision: String,
    host: String,
}

/// What one part's JSON says: its origin and its checks, recomputed from its result.
struct Recording {
    origin: Origin,
    checks: Vec<Check>,
}

/// Reads `<out>/<part>.json`, requiring it to be of `mode`, and rechecks its result.
fn read(out: &Path, part: &dyn AnyPart, mode: Mode) -> Result<Recording> {
    let name = part.name();
    let path = out.join(format!("{name}.json"));
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("{name}: no results at {}", path.display()))?;
    let mut json: Value = serde_json::from_str(&text)
        .with_context(|| format!("{name}: {} is not JSON", path.display()))?;
    let meta = json
        .as_object_mut()
        .and_then(|map| map.remove("meta"))
        .ok_or_else(|| anyhow!("{name}: {} has no meta object", path.display()))?;
    let meta: Meta<Origin> = serde_json::from_value(meta)
        .with_context(|| format!("{name}: the meta object of {} is unreadable", path.display()))?;
    if meta.mode != mode {
        bail!(
            "{name}: {} holds a {}-mode run, not {} mode",
            path.display(),
            meta.mode.label(),
            mode.label()
        );
    }
    let checks = part
        .recheck(mode, json)
        .with_context(|| format!("{name}: the result in {} is unreadable", path.display()))?;
    Ok(Recording { origin: meta.provenance, checks })
}

/// Verifies `parts` in `out` for `mode`: one line per part on stderr, then an error listing every
/// failure (a check outside its tolerance, or a part that cannot be read) if there is any.
pub fn verify(out: &Path, mode: Mode, parts: &[&dyn AnyPart]) -> Result<()> {
    let mut failures = Vec::new();
    for part in parts {
        match read(out, *part, mode) {
            Ok(recording) => {
                let outside: Vec<String> = recording
                    .checks
                    .iter()
                    .filter(|c| !c.passed())
                    .map(|c| format!("{}: {c}", part.name()))
                    .collect();
                eprintln!(
                    "reproduce: {} ({} mode, git {}, on {}): {} checks, {} outside",
                    part.name(),
                    mode.label(),
                    recording.origin.git_revision,
                    recording.origin.host,
                    recording.checks.len(),
                    outside.len()
                );
                failures.extend(outside);
            }
            Err(error) => failures.push(format!("{error:#}")),
        }
    }
    if !failures.is_empty() {
        bail!("verification failed ({}):\n  {}", failures.len(), failures.join("\n  "));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde::Serialize;

    use super::*;
    use crate::context::Context;
    use crate::part::Part;

    /// A part whose result is a list of numbers, each checked against 1 with tolerance 0.1.
    struct Toy {
        name: &'static str,
        values: Vec<f64>,
    }

    #[derive(Serialize, Deserialize)]
    struct ToyResult {
        values: Vec<f64>,
    }

    impl Part for Toy {
        type Result = ToyResult;
        type Details = ();
        type Config = ();

        fn name(&self) -> &'static str {
            self.name
        }
        fn title(&self) -> &'static str {
            "Toy"
        }
        fn about(&self) -> &'static str {
            ""
        }
        fn config(&self, _: &Context) -> Result<()> {
            Ok(())
        }
        fn compute(&self, _: &Context, (): &()) -> Result<(ToyResult, ())> {
            Ok((ToyResult { values: self.values.clone() }, ()))
        }
        fn render(&self, _: &Context, (): &(), _: &ToyResult, (): ()) -> Result<String> {
            Ok(String::new())
        }
        fn checks(&self, _: Mode, result: &ToyResult) -> Vec<Check> {
            let check = |(i, v): (usize, &f64)| Check::new(format!("v{i}"), 1.0, *v, 0.1);
            result.values.iter().enumerate().map(check).collect()
        }
    }

    /// Runs `part` in `mode` into `dir` and writes its files, as a run does.
    fn write(dir: &Path, part: &Toy, mode: Mode) {
        let ctx = Context::new(dir.to_path_buf(), mode, 0).unwrap();
        let outcome = part.run(&ctx).unwrap();
        crate::report::write_part(&ctx, part, &outcome, 1.0).unwrap();
    }

    fn toy(name: &'static str, values: &[f64]) -> Toy {
        Toy { name, values: values.to_vec() }
    }

    fn error(result: Result<()>) -> String {
        format!("{:#}", result.expect_err("verification should fail"))
    }

    #[test]
    fn a_folder_passes_exactly_when_every_recomputed_check_does() {
        let dir = tempfile::tempdir().unwrap();
        let (one, two) = (toy("one", &[1.04, 1.0]), toy("two", &[1.0]));
        write(dir.path(), &one, Mode::Full);
        write(dir.path(), &two, Mode::Full);
        verify(dir.path(), Mode::Full, &[&one, &two]).unwrap();
        write(dir.path(), &toy("two", &[1.2, 0.5]), Mode::Full);
        let message = error(verify(dir.path(), Mode::Full, &[&one, &two]));
        assert!(
            message.contains("(2)") && message.contains("two: v0:") && message.contains("two: v1:"),
            "{message}"
        );
        verify(dir.path(), Mode::Full, &[&one]).unwrap();
        // The checks come from the result, not from the recorded `meta.checks`.
        let path = dir.path().join("one.json");
        let text = std::fs::read_to_string(&path).unwrap().replace("1.04", "1.5");
        std::fs::write(&path, text).unwrap();
        assert!(error(verify(dir.path(), Mode::Full, &[&one])).contains("one: v0:"));
    }

    #[test]
    fn a_missing_unreadable_or_other_mode_part_fails() {
        let dir = tempfile::tempdir().unwrap();
        let (one, two) = (toy("one", &[1.0]), toy("two", &[1.0]));
        write(dir.path(), &one, Mode::Quick);
        assert!(error(verify(dir.path(), Mode::Full, &[&one]))
            .contains("quick-mode run, not full mode"));
        verify(dir.path(), Mode::Quick, &[&one]).unwrap();
        assert!(error(verify(dir.path(), Mode::Quick, &[&two])).contains("two: no results"));
        std::fs::write(dir.path().join("two.json"), "{\"meta\": ").unwrap();
        assert!(error(verify(dir.path(), Mode::Quick, &[&two])).contains("is not JSON"));
        std::fs::write(
            dir.path().join("two.json"),
            "{\"meta\": {\"mode\": \"quick\", \"checks\": 3}}",
        )
        .unwrap();
        assert!(error(verify(dir.path(), Mode::Quick, &[&two])).contains("meta object"));
        let one_json = std::fs::read_to_string(dir.path().join("one.json")).unwrap();
        std::fs::write(dir.path().join("two.json"), one_json.replace("\"values\"", "\"other\""))
            .unwrap();
        assert!(error(verify(dir.path(), Mode::Quick, &[&two])).contains("result in"));
    }
}
