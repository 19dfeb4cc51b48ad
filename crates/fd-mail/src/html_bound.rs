//! Bounds on HTML from outside, checked BEFORE any HTML parser builds a tree of it.
//!
//! html5ever (under ammonia) is quadratic in two places an attacker controls: the tree
//! builder's scope checks walk the stack of open elements, so `<div>` × 200,000 costs
//! depth² (finding 1 of the hardening issue: 427 s for 2.2 MB), and the tokenizer looks for a
//! duplicate among the attributes already read for every attribute of a tag
//! (`finish_attribute`), so one tag with a million attributes costs a million². [`check`]
//! measures what drives that cost in time linear in the input, and a document beyond
//! [`HtmlBounds`] is flattened to text by the caller instead of being parsed.
//!
//! Three measures, each an upper bound of what the real parser would do, whatever the
//! attacker knows of them:
//! 1. the size in bytes;
//! 2. a linear scan over the tokenizer's tag states (tag name, before/after attribute name,
//!    attribute name, before value, quoted and unquoted values, after a quoted value,
//!    self-closing). The scan does not know where the real tokenizer is in raw text, RCDATA or
//!    a comment, so it follows every possibility at once: at each `<` + letter the tokenizer
//!    may open a tag or may not. The set of live states has at most 11 members and each keeps
//!    the largest attribute counts reached on any path to it, so the counts bound the real
//!    ones (no desynchronisation can hide attributes) at a constant cost per byte. `<` + ASCII
//!    letter anywhere counts as a start tag: an upper bound on the elements the tokenizer can
//!    open;
//! 3. the nesting depth and element count, measured truthfully by html5ever's own tree builder
//!    with a counting sink (implied elements, the adoption agency and foster parenting
//!    included), fed in small chunks and stopped at the first chunk past a bound, so its
//!    quadratic cost up to that point stays small. It runs only when the scan saw more than
//!    [`HtmlBounds::tree_check_above`] start tags: below that the tree is too small to cost
//!    anything.
//!
//! Depends on html5ever only; knows nothing of mail or storage.

use std::borrow::Cow;
use std::cell::{Cell, RefCell};

use html5ever::tendril::{StrTendril, TendrilSink};
use html5ever::tree_builder::{ElementFlags, NodeOrText, QuirksMode, TreeSink};
use html5ever::{Attribute, LocalName, Namespace, QualName, local_name, ns};

/// Limits for one document. The defaults leave every message of the shared corpus of real
/// mail untouched (`html_bounds_leave_real_mail_alone` in the corpus tests prints the
/// largest measures): there, across 50 HTML bodies, the largest is 58 KB with 774 start tags,
/// 882 elements, 1,759 attributes, 10 attributes on one tag and a depth of 46. The bounds
/// leave a wide margin for bigger newsletters (nested layout tables reach depths of 100–200)
/// while keeping the tree builder's depth × elements work near 5·10⁷ steps at most, and the
/// tokenizer's duplicate-attribute checks at 128 per attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HtmlBounds {
    /// Bytes of HTML.
    pub max_bytes: usize,
    /// Start tags (scan) and elements (tree, implied ones included).
    pub max_elements: usize,
    /// Nesting depth of the tree.
    pub max_depth: usize,
    /// Attributes on one tag, on any tokenizer path.
    pub max_attributes_per_tag: usize,
    /// Attributes in the whole document, on any tokenizer path.
    pub max_attributes: usize,
    /// The tree is measured only above this many start tags.
    pub tree_check_above: usize,
}

impl Default for HtmlBounds {
    fn default() -> Self {
        HtmlBounds {
            max_bytes: 8 * 1024 * 1024,
            max_elements: 100_000,
            max_depth: 512,
            max_attributes_per_tag: 128,
            max_attributes: 400_000,
            tree_check_above: 512,
        }
    }
}

/// Which bound a document passed (the agent is told in a notice).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum HtmlTooComplex {
    #[error("it is larger than {0} bytes")]
    Size(usize),
    #[error("it has more than {0} elements")]
    Elements(usize),
    #[error("it nests elements more than {0} deep")]
    Depth(usize),
    #[error("one of its tags has more than {0} attributes")]
    AttributesPerTag(usize),
    #[error("it has more than {0} attributes")]
    Attributes(usize),
}

/// What the linear scan counted (for tests and the benchmark).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ScanCounts {
    pub start_tags: usize,
    pub max_attributes_per_tag: usize,
    pub attributes: usize,
}

/// What the tree pass measured, if it ran to the end.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TreeCounts {
    pub elements: usize,
    pub max_depth: usize,
}

/// Checks `html` against `bounds` in time linear in its length.
pub fn check(html: &str, bounds: &HtmlBounds) -> Result<(), HtmlTooComplex> {
    if html.len() > bounds.max_bytes {
        return Err(HtmlTooComplex::Size(bounds.max_bytes));
    }
    let scan = scan(html, bounds)?;
    if scan.start_tags > bounds.tree_check_above {
        measure_tree(html, bounds)?;
    }
    Ok(())
}

// Tokenizer tag states (WHATWG HTML §13.2.5), plus "not in a tag" for everything else.
const OUT: usize = 0;
const TAG_NAME: usize = 1;
const BEFORE_NAME: usize = 2;
const NAME: usize = 3;
const AFTER_NAME: usize = 4;
const BEFORE_VALUE: usize = 5;
const DOUBLE: usize = 6;
const SINGLE: usize = 7;
const UNQUOTED: usize = 8;
const AFTER_QUOTED: usize = 9;
const SELF_CLOSING: usize = 10;
const STATES: usize = 11;

/// Per live state: attributes of the current tag and of the document on the worst path.
#[derive(Clone, Copy, Default)]
struct Path {
    live: bool,
    in_tag: usize,
    total: usize,
}

fn is_ws(b: u8) -> bool {
    matches!(b, b'\t' | b'\n' | b'\x0c' | b'\r' | b' ')
}

/// The state after `b` in state `s`, and whether `b` starts an attribute name.
fn step(s: usize, b: u8) -> (usize, bool) {
    match s {
        TAG_NAME => match b {
            _ if is_ws(b) => (BEFORE_NAME, false),
            b'/' => (SELF_CLOSING, false),
            b'>' => (OUT, false),
            _ => (TAG_NAME, false),
        },
        BEFORE_NAME => match b {
            _ if is_ws(b) => (BEFORE_NAME, false),
            b'/' => (SELF_CLOSING, false),
            b'>' => (OUT, false),
            _ => (NAME, true),
        },
        NAME => match b {
            _ if is_ws(b) => (AFTER_NAME, false),
            b'/' => (SELF_CLOSING, false),
            b'=' => (BEFORE_VALUE, false),
            b'>' => (OUT, false),
            _ => (NAME, false),
        },
        AFTER_NAME => match b {
            _ if is_ws(b) => (AFTER_NAME, false),
            b'/' => (SELF_CLOSING, false),
            b'=' => (BEFORE_VALUE, false),
            b'>' => (OUT, false),
            _ => (NAME, true),
        },
        BEFORE_VALUE => match b {
            _ if is_ws(b) => (BEFORE_VALUE, false),
            b'"' => (DOUBLE, false),
            b'\'' => (SINGLE, false),
            b'>' => (OUT, false),
            _ => (UNQUOTED, false),
        },
        DOUBLE => (if b == b'"' { AFTER_QUOTED } else { DOUBLE }, false),
        SINGLE => (if b == b'\'' { AFTER_QUOTED } else { SINGLE }, false),
        UNQUOTED => match b {
            _ if is_ws(b) => (BEFORE_NAME, false),
            b'>' => (OUT, false),
            _ => (UNQUOTED, false),
        },
        // Anything else is reconsumed in the before-attribute-name state.
        AFTER_QUOTED | SELF_CLOSING => match b {
            _ if is_ws(b) => (BEFORE_NAME, false),
            b'/' => (SELF_CLOSING, false),
            b'>' => (OUT, false),
            _ => (NAME, true),
        },
        _ => (OUT, false),
    }
}

/// The linear scan (measure 2). Fails as soon as a count passes its bound.
pub fn scan(html: &str, bounds: &HtmlBounds) -> Result<ScanCounts, HtmlTooComplex> {
    let bytes = html.as_bytes();
    let mut paths = [Path::default(); STATES];
    paths[OUT].live = true;
    let mut counts = ScanCounts::default();
    for (i, &b) in bytes.iter().enumerate() {
        let next_is_letter = bytes.get(i + 1).is_some_and(u8::is_ascii_alphabetic);
        let opens = b == b'<'
            && (next_is_letter
                || (bytes.get(i + 1) == Some(&b'/')
                    && bytes.get(i + 2).is_some_and(u8::is_ascii_alphabetic)));
        if b == b'<' && next_is_letter {
            counts.start_tags += 1;
            if counts.start_tags > bounds.max_elements {
                return Err(HtmlTooComplex::Elements(bounds.max_elements));
            }
        }
        // Fast path: outside every tag and nothing opens one.
        if !opens && paths[OUT].live && paths[1..].iter().all(|p| !p.live) {
            continue;
        }
        let mut next = [Path::default(); STATES];
        for (s, p) in paths.iter().enumerate() {
            if !p.live {
                continue;
            }
            let mut moves: [(usize, bool); 2] = [(usize::MAX, false); 2];
            if s == OUT {
                // Outside a tag (or in raw text, RCDATA, a comment…): a tag may open here,
                // or the tokenizer may be somewhere that ignores it.
                moves[0] = (OUT, false);
                if opens {
                    moves[1] = (TAG_NAME, false);
                }
            } else {
                moves[0] = step(s, b);
            }
            for (to, starts_attribute) in moves {
                if to == usize::MAX {
                    continue;
                }
                let (in_tag, total) = if to == TAG_NAME && s == OUT {
                    (0, p.total)
                } else if starts_attribute {
                    (p.in_tag + 1, p.total + 1)
                } else {
                    (p.in_tag, p.total)
                };
                let n = &mut next[to];
                n.live = true;
                n.in_tag = n.in_tag.max(in_tag);
                n.total = n.total.max(total);
            }
        }
        paths = next;
        for p in paths.iter().filter(|p| p.live) {
            counts.max_attributes_per_tag = counts.max_attributes_per_tag.max(p.in_tag);
            counts.attributes = counts.attributes.max(p.total);
        }
        if counts.max_attributes_per_tag > bounds.max_attributes_per_tag {
            return Err(HtmlTooComplex::AttributesPerTag(
                bounds.max_attributes_per_tag,
            ));
        }
        if counts.attributes > bounds.max_attributes {
            return Err(HtmlTooComplex::Attributes(bounds.max_attributes));
        }
    }
    Ok(counts)
}

/// Bytes fed to the tree builder between two looks at the counts: the work done past a
/// bound before the pass stops is what one chunk can cause.
const CHUNK: usize = 1024;

/// The tree pass (measure 3).
pub fn measure_tree(html: &str, bounds: &HtmlBounds) -> Result<TreeCounts, HtmlTooComplex> {
    let state = std::rc::Rc::new(Counts::default());
    let sink = CountingSink {
        nodes: RefCell::new(vec![Node {
            name: ElemName {
                ns: ns!(html),
                local: local_name!("html"),
            },
            depth: 0,
        }]),
        counts: state.clone(),
    };
    let context = QualName::new(None, ns!(html), local_name!("div"));
    // The same entry point as ammonia: a fragment in a <div>.
    let mut parser = html5ever::parse_fragment(
        sink,
        html5ever::ParseOpts::default(),
        context,
        vec![],
        false,
    );
    let mut rest = html;
    while !rest.is_empty() {
        let mut cut = rest.len().min(CHUNK);
        while !rest.is_char_boundary(cut) {
            cut += 1;
        }
        let (chunk, tail) = rest.split_at(cut);
        rest = tail;
        parser.process(StrTendril::from_slice(chunk));
        state.check(bounds)?;
    }
    let out = parser.finish();
    out.check(bounds)?;
    Ok(TreeCounts {
        elements: out.elements.get(),
        max_depth: out.max_depth.get(),
    })
}

#[derive(Default)]
struct Counts {
    elements: Cell<usize>,
    max_depth: Cell<usize>,
}

impl Counts {
    fn check(&self, bounds: &HtmlBounds) -> Result<(), HtmlTooComplex> {
        if self.elements.get() > bounds.max_elements {
            return Err(HtmlTooComplex::Elements(bounds.max_elements));
        }
        if self.max_depth.get() > bounds.max_depth {
            return Err(HtmlTooComplex::Depth(bounds.max_depth));
        }
        Ok(())
    }
}

/// An element's name, owned (atoms are cheap to clone).
#[derive(Debug, Clone)]
struct ElemName {
    ns: Namespace,
    local: LocalName,
}

impl html5ever::tree_builder::ElemName for ElemName {
    fn ns(&self) -> &Namespace {
        &self.ns
    }
    fn local_name(&self) -> &LocalName {
        &self.local
    }
}

struct Node {
    name: ElemName,
    depth: usize,
}

/// A tree sink that keeps only each node's name and depth. Handle 0 is the document.
/// Depth is set when a node is inserted (under a parent: one more; before a sibling: the
/// same). Reparenting by the adoption agency moves children one level down without an
/// insertion; the agency runs at most eight times per end tag, and the next insertion below
/// those children is measured again, so the count stays within a few levels of the truth.
struct CountingSink {
    nodes: RefCell<Vec<Node>>,
    counts: std::rc::Rc<Counts>,
}

impl CountingSink {
    fn new_node(&self, name: ElemName) -> usize {
        let mut nodes = self.nodes.borrow_mut();
        nodes.push(Node { name, depth: 0 });
        nodes.len() - 1
    }

    fn place(&self, node: &NodeOrText<usize>, depth: usize) {
        if let NodeOrText::AppendNode(h) = node {
            if let Some(n) = self.nodes.borrow_mut().get_mut(*h) {
                n.depth = depth;
            }
            if depth > self.counts.max_depth.get() {
                self.counts.max_depth.set(depth);
            }
        }
    }

    fn depth(&self, h: usize) -> usize {
        self.nodes.borrow().get(h).map_or(0, |n| n.depth)
    }
}

impl TreeSink for CountingSink {
    type Handle = usize;
    type Output = std::rc::Rc<Counts>;
    type ElemName<'a> = ElemName;

    fn finish(self) -> Self::Output {
        self.counts
    }

    fn parse_error(&self, _msg: Cow<'static, str>) {}

    fn get_document(&self) -> usize {
        0
    }

    fn elem_name<'a>(&'a self, target: &'a usize) -> ElemName {
        self.nodes
            .borrow()
            .get(*target)
            .map(|n| n.name.clone())
            .unwrap_or(ElemName {
                ns: ns!(html),
                local: local_name!("span"),
            })
    }

    fn create_element(&self, name: QualName, _attrs: Vec<Attribute>, _: ElementFlags) -> usize {
        self.counts.elements.set(self.counts.elements.get() + 1);
        self.new_node(ElemName {
            ns: name.ns,
            local: name.local,
        })
    }

    fn create_comment(&self, _text: StrTendril) -> usize {
        self.new_node(ElemName {
            ns: ns!(),
            local: LocalName::from("#comment"),
        })
    }

    fn create_pi(&self, _target: StrTendril, _data: StrTendril) -> usize {
        self.new_node(ElemName {
            ns: ns!(),
            local: LocalName::from("#pi"),
        })
    }

    fn append(&self, parent: &usize, child: NodeOrText<usize>) {
        self.place(&child, self.depth(*parent) + 1);
    }

    fn append_based_on_parent_node(
        &self,
        element: &usize,
        prev_element: &usize,
        child: NodeOrText<usize>,
    ) {
        // Foster parenting: before the table if it is in the tree, else in the previous
        // element; the deeper of the two is an upper bound either way.
        let depth = self.depth(*element).max(self.depth(*prev_element) + 1);
        self.place(&child, depth);
    }

    fn append_doctype_to_document(&self, _: StrTendril, _: StrTendril, _: StrTendril) {}

    fn get_template_contents(&self, target: &usize) -> usize {
        // The contents fragment sits where its template is.
        let depth = self.depth(*target);
        let h = self.new_node(ElemName {
            ns: ns!(),
            local: LocalName::from("#template-contents"),
        });
        if let Some(n) = self.nodes.borrow_mut().get_mut(h) {
            n.depth = depth;
        }
        h
    }

    fn same_node(&self, x: &usize, y: &usize) -> bool {
        x == y
    }

    fn set_quirks_mode(&self, _mode: QuirksMode) {}

    fn append_before_sibling(&self, sibling: &usize, new_node: NodeOrText<usize>) {
        self.place(&new_node, self.depth(*sibling));
    }

    fn add_attrs_if_missing(&self, _target: &usize, _attrs: Vec<Attribute>) {}

    fn remove_from_parent(&self, _target: &usize) {}

    fn reparent_children(&self, node: &usize, new_parent: &usize) {
        // The children now sit one level below `new_parent`.
        let depth = self.depth(*new_parent).max(self.depth(*node) + 1) + 1;
        if depth > self.counts.max_depth.get() {
            self.counts.max_depth.set(depth);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nested(tag: &str, n: usize) -> String {
        format!(
            "{}x{}",
            format!("<{tag}>").repeat(n),
            format!("</{tag}>").repeat(n)
        )
    }

    #[test]
    fn ordinary_html_passes() {
        let html = r#"<div style="color: red"><p>Hi <b>there</b><img src="cid:a" alt="x"></p><table><tr><td>1</td></tr></table></div>"#;
        assert_eq!(check(html, &HtmlBounds::default()), Ok(()));
        let many: String = "<p>line <b>bold</b></p>".repeat(2_000);
        assert_eq!(check(&many, &HtmlBounds::default()), Ok(()));
    }

    #[test]
    fn deep_nesting_is_refused() {
        assert_eq!(
            check(&nested("div", 5_000), &HtmlBounds::default()),
            Err(HtmlTooComplex::Depth(512))
        );
        assert_eq!(
            check(&nested("blockquote", 5_000), &HtmlBounds::default()),
            Err(HtmlTooComplex::Depth(512))
        );
        // End tags cannot fake a shallow tree: they sit in a comment here.
        let fake = format!("{}<!--{}-->", "<div>".repeat(2_000), "</div>".repeat(2_000));
        assert!(check(&fake, &HtmlBounds::default()).is_err());
    }

    #[test]
    fn attribute_floods_are_refused_even_out_of_sync() {
        let attrs: String = (0..500).map(|i| format!(" a{i}")).collect();
        assert_eq!(
            check(&format!("<p{attrs}>x</p>"), &HtmlBounds::default()),
            Err(HtmlTooComplex::AttributesPerTag(128))
        );
        // In <style> the tokenizer is in raw text: a scan that followed only one reading
        // would be inside a quoted value when the real tag <p q=">"…> opens.
        let tricky = format!(r#"<style><x y="</style><p q=">"{attrs}>"#);
        assert_eq!(
            check(&tricky, &HtmlBounds::default()),
            Err(HtmlTooComplex::AttributesPerTag(128))
        );
    }

    #[test]
    fn size_is_bounded() {
        let b = HtmlBounds {
            max_bytes: 10,
            ..HtmlBounds::default()
        };
        assert_eq!(
            check("<p>hello world</p>", &b),
            Err(HtmlTooComplex::Size(10))
        );
    }
}
