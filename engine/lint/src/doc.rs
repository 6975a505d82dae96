//! Positions in a Portfile that already passed the schema.
//!
//! The validated [`wport_manifest::Portfile`] carries no spans (the schema
//! crate keeps them in its private raw layer), so the linter parses the text
//! a second time into `toml`'s spanned document and looks keys up by path.
//! That costs one more TOML parse per port (microseconds; see the
//! benchmark) and keeps the schema crate's API unchanged.

use std::ops::Range;

use toml::de::{DeTable, DeValue};

/// One step of a path into the document.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Seg<'a> {
    /// A key of a table.
    Key(&'a str),
    /// An element of an array (or array of tables).
    Index(usize),
}

pub(crate) use Seg::{Index, Key};

/// The spanned TOML document of a Portfile.
pub(crate) struct Doc<'i> {
    root: Option<DeTable<'i>>,
}

/// Where a path points: the key (when the last step is a key) and the value.
#[derive(Debug, Clone)]
pub(crate) struct Found {
    pub key: Option<Range<usize>>,
    pub value: Range<usize>,
}

impl<'i> Doc<'i> {
    pub(crate) fn parse(text: &'i str) -> Doc<'i> {
        Doc {
            root: DeTable::parse(text).ok().map(|t| t.into_inner()),
        }
    }

    /// Looks `path` up.
    pub(crate) fn find(&self, path: &[Seg<'_>]) -> Option<Found> {
        let root = self.root.as_ref()?;
        let mut table = root;
        let mut value: Option<&DeValue<'i>> = None;
        let mut found: Option<Found> = None;
        for seg in path {
            match *seg {
                Key(name) => {
                    if let Some(v) = value {
                        table = v.as_table()?;
                    }
                    let (k, v) = table.iter().find(|(k, _)| k.get_ref().as_ref() == name)?;
                    found = Some(Found {
                        key: Some(k.span()),
                        value: v.span(),
                    });
                    value = Some(v.get_ref());
                }
                Index(i) => {
                    let item = value?.as_array()?.get(i)?;
                    found = Some(Found {
                        key: None,
                        value: item.span(),
                    });
                    value = Some(item.get_ref());
                }
            }
        }
        found
    }

    /// The span of the key at `path` (or of its value when it has no key).
    pub(crate) fn key(&self, path: &[Seg<'_>]) -> Option<Range<usize>> {
        self.find(path).map(|f| f.key.unwrap_or(f.value))
    }

    /// The span of the value at `path`. For a table, its header.
    pub(crate) fn value(&self, path: &[Seg<'_>]) -> Option<Range<usize>> {
        self.find(path).map(|f| f.value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_keys_values_and_array_items() {
        let text = "[[source]]\nurl = \"a\"\nmirrors = [\"m1\", \"m2\"]\n[capabilities.build]\nprograms = [\"make\"]\n";
        let doc = Doc::parse(text);
        let url = doc.find(&[Key("source"), Index(0), Key("url")]).unwrap();
        assert_eq!(&text[url.key.unwrap()], "url");
        assert_eq!(&text[url.value], "\"a\"");
        let m2 = doc
            .value(&[Key("source"), Index(0), Key("mirrors"), Index(1)])
            .unwrap();
        assert_eq!(&text[m2], "\"m2\"");
        let header = doc.value(&[Key("capabilities"), Key("build")]).unwrap();
        assert_eq!(&text[header], "[capabilities.build]");
        assert!(doc.find(&[Key("source"), Index(1)]).is_none());
        assert!(doc.find(&[Key("port")]).is_none());
    }
}
