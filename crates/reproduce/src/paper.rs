//! The numbers the papers printed, to compare against (shared/reference/official-gadgets-numbers.md,
//! gadgets-part2.md).

/// A printed value with its spread (std over seeds, or s.e. over trials, as the paper reports it).
#[derive(Debug, Clone, Copy)]
pub struct Printed {
    /// The mean.
    pub mean: f64,
    /// The spread printed beside it.
    pub spread: f64,
}

/// Table 1, columns 1-2 (E[(x - y)^2], K = 10, l = log_softmax(8 U^10)): (method, independent, mirrored),
/// mean +- std over 5 evaluation seeds.
pub const TABLE1_COLUMNS_1_2: [(&str, Printed, Printed); 6] = [
    ("independent", Printed { mean: 16.51, spread: 0.01 }, Printed { mean: 21.34, spread: 0.10 }),
    ("inverse-cdf", Printed { mean: 8.14, spread: 0.01 }, Printed { mean: 12.59, spread: 0.09 }),
    ("permuted-inverse-cdf", Printed { mean: 15.72, spread: 0.04 }, Printed { mean: 21.00, spread: 0.15 }),
    ("gumbel-max", Printed { mean: 14.02, spread: 0.01 }, Printed { mean: 18.84, spread: 0.09 }),
    ("gadget-1", Printed { mean: 14.05, spread: 0.01 }, Printed { mean: 16.67, spread: 0.45 }),
    ("gadget-2", Printed { mean: 8.76, spread: 0.03 }, Printed { mean: 13.47, spread: 0.09 }),
];

/// The paper's value for `method` in Table 1 column `column` ("independent" or "mirrored").
pub fn table1_columns_1_2(method: &str, column: &str) -> Option<Printed> {
    TABLE1_COLUMNS_1_2.iter().find(|(m, _, _)| *m == method).and_then(|(_, independent, mirrored)| match column {
        "independent" => Some(*independent),
        "mirrored" => Some(*mirrored),
        _ => None,
    })
}
