//! `multipart/form-data` (RFC 7578) bodies: the Files API's upload and the reply form with
//! a file input (which works without script). The body is already bounded by the route's
//! body limit, so this reads it whole; it only splits parts, it decides nothing.

/// One part of a form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Part {
    pub name: String,
    /// Present for a file input (possibly empty when the input was left empty).
    pub filename: Option<String>,
    pub content_type: Option<String>,
    pub data: Vec<u8>,
}

impl Part {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.data).into_owned()
    }
}

/// The boundary of a `multipart/form-data` content type, if it is one.
pub(crate) fn boundary(content_type: &str) -> Option<String> {
    let mut params = content_type.split(';');
    let kind = params.next()?.trim();
    if !kind.eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    params.find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("boundary")
            .then(|| v.trim().trim_matches('"').to_string())
            .filter(|b| !b.is_empty() && b.len() <= 70)
    })
}

fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if needle.is_empty() || hay.len() < needle.len() {
        return None;
    }
    (from..=hay.len() - needle.len()).find(|&i| hay.get(i..i + needle.len()) == Some(needle))
}

/// A header parameter (`name="x"`), unquoted; `\"` and `\\` unescaped. Browsers send
/// non-ASCII names as raw UTF-8 inside the quotes.
fn param(header: &str, key: &str) -> Option<String> {
    let mut rest = header;
    while let Some(i) = rest.find(';') {
        rest = rest.get(i + 1..)?;
        let t = rest.trim_start();
        let Some((k, v)) = t.split_once('=') else {
            continue;
        };
        if !k.trim().eq_ignore_ascii_case(key) {
            continue;
        }
        let v = v.trim_start();
        if let Some(q) = v.strip_prefix('"') {
            let mut out = String::new();
            let mut chars = q.chars();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => {
                        if let Some(n) = chars.next() {
                            out.push(n);
                        }
                    }
                    '"' => return Some(out),
                    c => out.push(c),
                }
            }
            return Some(out);
        }
        return Some(v.split(';').next().unwrap_or("").trim().to_string());
    }
    None
}

/// Splits a body into its parts; a body that is not well-formed multipart is refused with
/// what is wrong.
pub(crate) fn parse(boundary: &str, body: &[u8]) -> Result<Vec<Part>, String> {
    let delim = format!("--{boundary}").into_bytes();
    let mut pos = find(body, &delim, 0).ok_or("the multipart body has no boundary")?;
    let mut parts = Vec::new();
    loop {
        pos += delim.len();
        if body.get(pos..pos + 2) == Some(b"--") {
            return Ok(parts);
        }
        if body.get(pos..pos + 2) == Some(b"\r\n") {
            pos += 2;
        } else {
            return Err("a multipart boundary is not followed by a line end".into());
        }
        let head_end = find(body, b"\r\n\r\n", pos).ok_or("a multipart part has no header end")?;
        let head = String::from_utf8_lossy(body.get(pos..head_end).unwrap_or_default());
        let next_delim: Vec<u8> = [b"\r\n".as_slice(), &delim].concat();
        let data_start = head_end + 4;
        let end = find(body, &next_delim, data_start).ok_or("the multipart body is cut short")?;
        let mut name = None;
        let mut filename = None;
        let mut content_type = None;
        for line in head.split("\r\n") {
            let Some((k, v)) = line.split_once(':') else {
                continue;
            };
            if k.trim().eq_ignore_ascii_case("content-disposition") {
                name = param(v, "name");
                filename = param(v, "filename");
            } else if k.trim().eq_ignore_ascii_case("content-type") {
                content_type = Some(v.trim().to_string());
            }
        }
        parts.push(Part {
            name: name.ok_or("a multipart part has no name")?,
            filename,
            content_type,
            data: body.get(data_start..end).unwrap_or_default().to_vec(),
        });
        pos = end + 2;
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn parts_with_files_and_fields() {
        let body = b"--XyZ\r\nContent-Disposition: form-data; name=\"fileName\"\r\n\r\nr\xc3\xa9sum\xc3\xa9.pdf\r\n--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a \\\"b\\\".bin\"\r\nContent-Type: application/pdf\r\n\r\n\x00\x01\r\n--\r\n--XyZ--\r\n";
        let b = boundary("multipart/form-data; boundary=\"XyZ\"").unwrap();
        let p = parse(&b, body).unwrap();
        assert_eq!(p.len(), 2);
        assert_eq!(p[0].text(), "résumé.pdf");
        assert_eq!(p[1].filename.as_deref(), Some("a \"b\".bin"));
        assert_eq!(p[1].content_type.as_deref(), Some("application/pdf"));
        assert_eq!(p[1].data, b"\x00\x01\r\n--");
        assert!(
            parse(
                "XyZ",
                b"--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nno end"
            )
            .is_err()
        );
        assert_eq!(boundary("application/json"), None);
    }
}
