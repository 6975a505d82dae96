//! "Did you mean ...?" for misspelt keys and values.

/// The candidate closest to `input`, when it is close enough to be a likely
/// typo: the same word modulo case and `_`/`-`, or within an edit distance of
/// one per three characters (at least one).
pub(crate) fn did_you_mean<'a>(
    input: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let normal = normalise(input);
    let limit = (input.chars().count() / 3).max(1);
    let mut best: Option<(usize, &str)> = None;
    for candidate in candidates {
        let distance = if normalise(candidate) == normal {
            0
        } else {
            edit_distance(&normal, &normalise(candidate))
        };
        if distance <= limit && best.is_none_or(|(d, _)| distance < d) {
            best = Some((distance, candidate));
        }
    }
    best.map(|(_, candidate)| candidate)
}

fn normalise(word: &str) -> String {
    word.chars()
        .map(|c| {
            if c == '_' {
                '-'
            } else {
                c.to_ascii_lowercase()
            }
        })
        .collect()
}

/// Optimal-string-alignment distance: Levenshtein plus adjacent
/// transpositions, since `sha265` for `sha256` is the typical typo.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    // rows[i][j]: distance between a[..i] and b[..j].
    let mut rows = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in rows.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in rows[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let substitution = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (rows[i - 1][j] + 1)
                .min(rows[i][j - 1] + 1)
                .min(rows[i - 1][j - 1] + substitution);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(rows[i - 2][j - 2] + 1);
            }
            rows[i][j] = best;
        }
    }
    rows[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    const SOURCE_KEYS: [&str; 6] = ["url", "mirrors", "sha256", "size", "file", "extract"];

    #[test]
    fn suggests_close_keys() {
        assert_eq!(did_you_mean("sha265", SOURCE_KEYS), Some("sha256"));
        assert_eq!(did_you_mean("mirror", SOURCE_KEYS), Some("mirrors"));
        assert_eq!(did_you_mean("URL", SOURCE_KEYS), Some("url"));
        assert_eq!(
            did_you_mean("upstream_contact", ["upstream-contact", "homepage"]),
            Some("upstream-contact")
        );
        assert_eq!(
            did_you_mean("compile", ["patch", "configure", "build"]),
            None
        );
        assert_eq!(
            did_you_mean("autotool", ["make", "autotools"]),
            Some("autotools")
        );
    }

    #[test]
    fn distance() {
        assert_eq!(edit_distance("sha265", "sha256"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }
}
