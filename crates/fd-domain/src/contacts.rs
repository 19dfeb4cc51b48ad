//! How a mail sender becomes a contact: the company domain an address implies (free-mail
//! providers imply none) and the first/last name a `From:` display name gives. Pure
//! functions, asked by mail ingestion and by anything else that creates a contact from an
//! address; no I/O and no storage here.

/// Providers whose addresses belong to people, not to a company: an address there never
/// associates its contact with a company of that domain. Country variants that differ only
/// in the last label are matched by `FREE_MAIL_FAMILIES`.
const FREE_MAIL_DOMAINS: &[&str] = &[
    "gmail.com",
    "googlemail.com",
    "outlook.com",
    "hotmail.com",
    "live.com",
    "msn.com",
    "yahoo.com",
    "ymail.com",
    "rocketmail.com",
    "aol.com",
    "icloud.com",
    "me.com",
    "mac.com",
    "web.de",
    "freenet.de",
    "t-online.de",
    "proton.me",
    "protonmail.com",
    "pm.me",
    "libero.it",
    "virgilio.it",
    "tiscali.it",
    "orange.fr",
    "wanadoo.fr",
    "free.fr",
    "laposte.net",
    "mail.ru",
    "yandex.ru",
    "yandex.com",
    "qq.com",
    "163.com",
    "126.com",
    "zoho.com",
    "tutanota.com",
    "tuta.io",
    "fastmail.com",
    "hey.com",
    "seznam.cz",
    "wp.pl",
    "o2.pl",
    "interia.pl",
    "bluewin.ch",
];

/// Providers that run the same free service under many country domains
/// (`gmx.de`, `gmx.net`, `hotmail.co.uk`, `yahoo.fr`…): the first label decides.
const FREE_MAIL_FAMILIES: &[&str] = &["gmx", "hotmail", "outlook", "yahoo", "live", "aol", "mail"];

/// Is `domain` (any case) a free-mail provider, whose users are people and not a company?
pub fn is_free_mail_domain(domain: &str) -> bool {
    let d = domain.trim().trim_end_matches('.').to_ascii_lowercase();
    if FREE_MAIL_DOMAINS.contains(&d.as_str()) {
        return true;
    }
    // `gmx.de`, `yahoo.co.uk`: a family name followed only by a country or generic suffix
    // (one label, or `co.`/`com.` plus a country code).
    match d.split_once('.') {
        Some((first, rest)) if FREE_MAIL_FAMILIES.contains(&first) => {
            let labels: Vec<&str> = rest.split('.').collect();
            match labels.as_slice() {
                [tld] => tld.len() >= 2 && tld.len() <= 3,
                [sld, cc] => matches!(*sld, "co" | "com") && cc.len() == 2,
                _ => false,
            }
        }
        _ => false,
    }
}

/// The company domain a sender's address implies: its domain in lower case, or `None` for
/// a free-mail provider's address (those people are nobody's company) and for anything
/// without a domain. Mail ingestion associates the new contact with the company that has
/// this domain, when there is one.
pub fn sender_company_domain(address: &str) -> Option<String> {
    let (_, domain) = address.trim().rsplit_once('@')?;
    let domain = domain.trim().trim_end_matches('.').to_ascii_lowercase();
    if domain.is_empty() || !domain.contains('.') || is_free_mail_domain(&domain) {
        return None;
    }
    Some(domain)
}

/// A `From:` display name as first and last name, as HubSpot fills them from a sender:
/// `Last, First` is turned round; otherwise the last word is the last name and everything
/// before it the first name; a single word is a first name. Quotes and surrounding spaces
/// are dropped; a name that is the address itself (or empty) gives nothing.
pub fn split_display_name(name: &str) -> (Option<String>, Option<String>) {
    let cleaned: String = name
        .trim()
        .trim_matches(|c| c == '"' || c == '\'')
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    if cleaned.is_empty() || cleaned.contains('@') {
        return (None, None);
    }
    let some = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
    if let Some((last, first)) = cleaned.split_once(',') {
        let (f, l) = (some(first), some(last));
        return match (f, l) {
            (None, l) => (l, None),
            (f, l) => (f, l),
        };
    }
    match cleaned.rsplit_once(' ') {
        Some((first, last)) => (some(first), some(last)),
        None => (some(&cleaned), None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_mail_addresses_imply_no_company() {
        for a in [
            "a@gmail.com",
            "A@GMail.COM",
            "b@outlook.com",
            "c@hotmail.com",
            "c@hotmail.co.uk",
            "d@yahoo.com",
            "d@yahoo.fr",
            "e@icloud.com",
            "f@gmx.de",
            "f@gmx.net",
            "f@GMX.at",
            "g@web.de",
            "h@proton.me",
            "i@libero.it",
        ] {
            assert_eq!(sender_company_domain(a), None, "{a}");
        }
    }

    #[test]
    fn company_addresses_give_their_lowercase_domain() {
        assert_eq!(
            sender_company_domain("Jane@Acme.Example"),
            Some("acme.example".into())
        );
        assert_eq!(
            sender_company_domain("x@mail.acme.example"),
            Some("mail.acme.example".into())
        );
        // A company whose name merely starts like a provider is still a company.
        assert_eq!(
            sender_company_domain("x@gmxsolutions.com"),
            Some("gmxsolutions.com".into())
        );
        assert_eq!(
            sender_company_domain("x@yahoo.acme.example"),
            Some("yahoo.acme.example".into())
        );
        assert_eq!(sender_company_domain("no-at-sign"), None);
        assert_eq!(sender_company_domain("x@localhost"), None);
    }

    #[test]
    fn display_names_split_into_first_and_last() {
        let s = |a: &str, b: &str| (Some(a.to_string()), Some(b.to_string()));
        assert_eq!(split_display_name("Jane Doe"), s("Jane", "Doe"));
        assert_eq!(
            split_display_name("\"Mary Ann Smith\""),
            s("Mary Ann", "Smith")
        );
        assert_eq!(split_display_name("Doe, Jane"), s("Jane", "Doe"));
        assert_eq!(split_display_name("  Cher "), (Some("Cher".into()), None));
        assert_eq!(split_display_name(""), (None, None));
        assert_eq!(split_display_name("jane@acme.example"), (None, None));
    }
}
