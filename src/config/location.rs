//! Maps config paths (`routes[2].pool`) to line and column in the source.
//!
//! Owns: a second, event-level YAML pass that records where every node
//! starts, so that semantic errors found after deserialisation can still
//! point at the line an operator must edit. Must not: interpret values.

use std::collections::HashMap;

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::Marker;

/// A 1-based position in the config text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Location {
    /// Line, 1-based.
    pub line: usize,
    /// Column, 1-based.
    pub column: usize,
}

/// Path → location of the node at that path.
#[derive(Debug, Default)]
pub struct LocationMap {
    nodes: HashMap<String, Location>,
}

/// A `LocationMap` built on first use: a valid config never needs one, and
/// building it is a second full parse of the text.
#[derive(Debug)]
pub struct LazyLocations<'a> {
    text: &'a str,
    map: std::sync::OnceLock<LocationMap>,
}

impl<'a> LazyLocations<'a> {
    /// Positions in `text`, computed when first asked for.
    pub fn new(text: &'a str) -> Self {
        Self {
            text,
            map: std::sync::OnceLock::new(),
        }
    }

    /// See [`LocationMap::find`].
    pub fn find(&self, path: &str) -> Option<Location> {
        self.map
            .get_or_init(|| LocationMap::build(self.text))
            .find(path)
    }
}

impl LocationMap {
    /// Builds the map; a text that does not parse gives an empty map (serde
    /// reports the syntax error itself).
    pub fn build(text: &str) -> Self {
        let mut recorder = Recorder::default();
        let mut parser = Parser::new_from_str(text);
        if parser.load(&mut recorder, false).is_err() {
            return Self::default();
        }
        Self {
            nodes: recorder.nodes,
        }
    }

    /// Location of the node at `path`, or of its nearest recorded ancestor.
    pub fn find(&self, path: &str) -> Option<Location> {
        let mut p = path;
        loop {
            if let Some(loc) = self.nodes.get(p) {
                return Some(*loc);
            }
            let cut = p.rfind(['.', '['])?;
            p = &p[..cut];
        }
    }
}

enum Frame {
    /// `start` is the mapping's own mark until its first key is seen.
    Map {
        path: String,
        key: Option<String>,
        start: Option<Marker>,
    },
    Seq {
        path: String,
        index: usize,
    },
}

#[derive(Default)]
struct Recorder {
    stack: Vec<Frame>,
    nodes: HashMap<String, Location>,
}

impl Recorder {
    fn slot(&self) -> Option<String> {
        match self.stack.last() {
            None => Some(String::new()),
            Some(Frame::Map {
                path, key: Some(k), ..
            }) if path.is_empty() => Some(k.clone()),
            Some(Frame::Map {
                path, key: Some(k), ..
            }) => Some(format!("{path}.{k}")),
            Some(Frame::Map { key: None, .. }) => None,
            Some(Frame::Seq { path, index }) => Some(format!("{path}[{index}]")),
        }
    }

    fn advance(&mut self) {
        match self.stack.last_mut() {
            Some(Frame::Map { key, .. }) => *key = None,
            Some(Frame::Seq { index, .. }) => *index += 1,
            None => {}
        }
    }

    fn record(&mut self, path: &str, mark: Marker) {
        self.nodes.entry(path.to_owned()).or_insert(Location {
            line: mark.line(),
            column: mark.col() + 1,
        });
    }
}

impl MarkedEventReceiver for Recorder {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        match ev {
            Event::Scalar(value, ..) => match self.slot() {
                // A scalar in key position names the next slot.
                None => {
                    let mut first = None;
                    if let Some(Frame::Map { key, start, path }) = self.stack.last_mut() {
                        *key = Some(value);
                        // yaml-rust2 marks a block mapping at the colon
                        // after its first key, a flow mapping at `{`: the
                        // mapping starts at whichever comes first.
                        if let Some(m) = start.take() {
                            let at = if mark.index() < m.index() { mark } else { m };
                            first = Some((path.clone(), at));
                        }
                    }
                    if let Some((path, at)) = first {
                        self.record(&path, at);
                    }
                }
                Some(path) => {
                    self.record(&path, mark);
                    self.advance();
                }
            },
            Event::Alias(_) => {
                if let Some(path) = self.slot() {
                    self.record(&path, mark);
                }
                self.advance();
            }
            Event::MappingStart(..) => {
                let path = self.slot().unwrap_or_default();
                self.stack.push(Frame::Map {
                    path,
                    key: None,
                    start: Some(mark),
                });
            }
            Event::SequenceStart(..) => {
                let path = self.slot().unwrap_or_default();
                self.record(&path, mark);
                self.stack.push(Frame::Seq { path, index: 0 });
            }
            Event::MappingEnd | Event::SequenceEnd => {
                // An empty mapping never saw a key: record where it was.
                if let Some(Frame::Map {
                    path,
                    start: Some(m),
                    ..
                }) = self.stack.pop()
                {
                    self.record(&path, m);
                }
                self.advance();
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_nested_paths() {
        let text = "version: 1\nroutes:\n  - name: a\n    pool: p\n  - name: b\n    pool: q\n";
        let map = LocationMap::build(text);
        assert_eq!(
            map.find("routes[1].pool"),
            Some(Location {
                line: 6,
                column: 11
            })
        );
        assert_eq!(
            map.find("routes[0].name"),
            Some(Location {
                line: 3,
                column: 11
            })
        );
        // Unknown leaf falls back to its parent.
        assert_eq!(map.find("routes[1].nope"), map.find("routes[1]"));
    }

    #[test]
    fn flow_style() {
        let text = "pools:\n  - { name: p, endpoints: [ { name: e, url: x } ] }\n";
        let map = LocationMap::build(text);
        let loc = map.find("pools[0].endpoints[0].url").unwrap();
        assert_eq!(loc.line, 2);
        assert_eq!(&text.lines().nth(1).unwrap()[loc.column - 1..][..1], "x");
    }
}
