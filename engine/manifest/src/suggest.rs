//! "Did you mean ...?" for misspelt keys and values.
//!
//! The input is hostile: an unknown key may be megabytes long. The old
//! full-matrix distance allocated one row per character of the key, for each
//! candidate (an 8 MiB key: 43 s and 1.6 GB in `wport build`, issue 11 item
//! 14). Now a key far longer than any candidate is not compared at all
//! ([`MAX_INPUT_CHARS`], and the length difference alone exceeding the
//! limit), and the distance keeps three rows, so memory is linear in the
//! shorter word.

/// Inputs longer than this many characters get no suggestion: no key or
/// value the schema knows is anywhere near it, so no typo of one is either.
pub(crate) const MAX_INPUT_CHARS: usize = 64;

/// The candidate closest to `input`, when it is close enough to be a likely
/// typo: the same word modulo case and `_`/`-`, or within an edit distance of
/// one per three characters (at least one). Public for other tools' "did you
/// mean" (wport-plan suggests port names with it).
pub fn did_you_mean<'a>(
    input: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let len = input.chars().take(MAX_INPUT_CHARS + 1).count();
    if len > MAX_INPUT_CHARS {
        return None;
    }
    let normal = normalise(input);
    let limit = (len / 3).max(1);
    let mut best: Option<(usize, &str)> = None;
    for candidate in candidates {
        let other = normalise(candidate);
        // Every edit changes the length by at most one.
        if normal.len().abs_diff(other.len()) > limit {
            continue;
        }
        let distance = edit_distance(&normal, &other);
        if distance <= limit && best.is_none_or(|(d, _)| distance < d) {
            best = Some((distance, candidate));
        }
    }
    best.map(|(_, candidate)| candidate)
}

fn normalise(word: &str) -> Vec<char> {
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
/// transpositions, since `sha265` for `sha256` is the typical typo. Three
/// rows of `b.len() + 1` cells, reused.
fn edit_distance(a: &[char], b: &[char]) -> usize {
    // before[j], prev[j], cur[j]: distance between a[..i-2], a[..i-1], a[..i]
    // and b[..j].
    let mut before = vec![0usize; b.len() + 1];
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0usize; b.len() + 1];
    for i in 1..=a.len() {
        cur[0] = i;
        for j in 1..=b.len() {
            let substitution = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (prev[j] + 1)
                .min(cur[j - 1] + 1)
                .min(prev[j - 1] + substitution);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(before[j - 2] + 1);
            }
            cur[j] = best;
        }
        std::mem::swap(&mut before, &mut prev);
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    const SOURCE_KEYS: [&str; 6] = ["url", "mirrors", "sha256", "size", "file", "extract"];

    fn distance(a: &str, b: &str) -> usize {
        let a: Vec<char> = a.chars().collect();
        let b: Vec<char> = b.chars().collect();
        edit_distance(&a, &b)
    }

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
    fn distance_matches_the_textbook() {
        assert_eq!(distance("sha265", "sha256"), 1);
        assert_eq!(distance("", "abc"), 3);
        assert_eq!(distance("abc", ""), 3);
        assert_eq!(distance("kitten", "sitting"), 3);
        assert_eq!(distance("ca", "abc"), 3);
        assert_eq!(distance("abcdef", "badcfe"), 3);
    }

    #[test]
    fn long_inputs_get_no_suggestion() {
        // A typo of a long candidate is still found up to the bound...
        let key = "k".repeat(MAX_INPUT_CHARS);
        let near = format!("{}j", "k".repeat(MAX_INPUT_CHARS - 1));
        assert_eq!(did_you_mean(&key, [near.as_str()]), Some(near.as_str()));
        // ...and past it nothing is compared, whatever the candidates.
        let long = "k".repeat(MAX_INPUT_CHARS + 1);
        assert_eq!(did_you_mean(&long, [long.as_str()]), None);
    }
}
