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
    let kind = content_type.split(';').next()?.trim();
    if !kind.eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    multer::parse_boundary(content_type).ok()
}

/// Splits a body into its parts; a body that is not well-formed multipart is refused with
/// what is wrong. The splitting is `multer`'s (the parser axum's own extractor uses): a
/// boundary search that stays linear on hostile bodies is a solved problem.
pub(crate) async fn parse(boundary: &str, body: axum::body::Bytes) -> Result<Vec<Part>, String> {
    let stream = futures_util::stream::once(async move { Ok::<_, std::convert::Infallible>(body) });
    let mut form = multer::Multipart::new(stream, boundary);
    let mut parts = Vec::new();
    while let Some(field) = form.next_field().await.map_err(|e| e.to_string())? {
        let name = field
            .name()
            .ok_or("a multipart part has no name")?
            .to_string();
        let filename = field.file_name().map(str::to_string);
        let content_type = field.content_type().map(|m| m.to_string());
        let data = field.bytes().await.map_err(|e| e.to_string())?.to_vec();
        parts.push(Part {
            name,
            filename,
            content_type,
            data,
        });
    }
    Ok(parts)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[tokio::test]
    async fn parts_with_files_and_fields() {
        let body = b"--XyZ\r\nContent-Disposition: form-data; name=\"fileName\"\r\n\r\nr\xc3\xa9sum\xc3\xa9.pdf\r\n--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a \\\"b\\\".bin\"\r\nContent-Type: application/pdf\r\n\r\n\x00\x01\r\n--\r\n--XyZ--\r\n";
        let b = boundary("multipart/form-data; boundary=\"XyZ\"").unwrap();
        let p = parse(&b, axum::body::Bytes::from_static(body))
            .await
            .unwrap();
        assert_eq!(p.len(), 2);
        assert_eq!(p[0].text(), "résumé.pdf");
        assert_eq!(p[1].filename.as_deref(), Some("a \"b\".bin"));
        assert_eq!(p[1].content_type.as_deref(), Some("application/pdf"));
        assert_eq!(p[1].data, b"\x00\x01\r\n--");
        assert!(
            parse(
                "XyZ",
                axum::body::Bytes::from_static(
                    b"--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nno end"
                )
            )
            .await
            .is_err()
        );
        assert_eq!(boundary("application/json"), None);
    }
}
