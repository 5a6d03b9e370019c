//! Reads the `.eml` files the file transport wrote, for the development mail
//! viewer. Never used when mail goes to SMTP.

use std::path::Path;

use mail_parser::MessageParser;

#[derive(Debug, Clone)]
pub struct MailSummary {
    pub id: String,
    pub to: String,
    pub subject: String,
    pub date: String,
    modified: std::time::SystemTime,
}

/// A piece of a message body: plain text, or a link to make clickable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodyPart {
    Text(String),
    Link(String),
}

#[derive(Debug, Clone)]
pub struct MailDetail {
    pub summary: MailSummary,
    pub from: String,
    pub body: Vec<BodyPart>,
}

fn valid_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.chars().all(|c| c.is_ascii_hexdigit() || c == '-')
}

fn parse(id: &str, path: &Path) -> Option<MailDetail> {
    let raw = std::fs::read(path).ok()?;
    let modified = std::fs::metadata(path).and_then(|m| m.modified()).ok()?;
    let message = MessageParser::default().parse(&raw)?;
    let addresses = |a: Option<&mail_parser::Address>| {
        a.map(|a| a.iter().filter_map(|x| x.address()).collect::<Vec<_>>().join(", ")).unwrap_or_default()
    };
    let summary = MailSummary {
        id: id.to_string(),
        to: addresses(message.to()),
        subject: message.subject().unwrap_or("(no subject)").to_string(),
        date: message.date().map(|d| d.to_rfc3339()).unwrap_or_default(),
        modified,
    };
    Some(MailDetail {
        from: addresses(message.from()),
        body: split_links(&message.body_text(0).map(|b| b.to_string()).unwrap_or_default()),
        summary,
    })
}

/// Newest first.
pub fn list(dir: &Path) -> Vec<MailSummary> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut mails: Vec<MailSummary> = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let id = name.strip_suffix(".eml")?.to_string();
            valid_id(&id).then(|| parse(&id, &e.path())).flatten().map(|d| d.summary)
        })
        .collect();
    mails.sort_by(|a, b| b.modified.cmp(&a.modified).then_with(|| b.id.cmp(&a.id)));
    mails
}

pub fn read(dir: &Path, id: &str) -> Option<MailDetail> {
    if !valid_id(id) {
        return None;
    }
    parse(id, &dir.join(format!("{id}.eml")))
}

/// Splits text into plain runs and http(s) links.
pub fn split_links(text: &str) -> Vec<BodyPart> {
    let mut parts = Vec::new();
    let mut rest = text;
    while let Some(start) = ["https://", "http://"].iter().filter_map(|p| rest.find(p)).min() {
        if start > 0 {
            parts.push(BodyPart::Text(rest[..start].to_string()));
        }
        let tail = &rest[start..];
        let end = tail.find(|c: char| c.is_whitespace() || c == '<' || c == '>' || c == '"').unwrap_or(tail.len());
        let mut link = &tail[..end];
        while link.ends_with(['.', ',', ')', ';', ':']) {
            link = &link[..link.len() - 1];
        }
        parts.push(BodyPart::Link(link.to_string()));
        rest = &tail[link.len()..];
    }
    if !rest.is_empty() {
        parts.push(BodyPart::Text(rest.to_string()));
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_are_split_out_without_trailing_punctuation() {
        let parts = split_links("Sign in: http://x.example/sign-in. Then see https://x.example/p?a=1");
        assert_eq!(
            parts,
            vec![
                BodyPart::Text("Sign in: ".into()),
                BodyPart::Link("http://x.example/sign-in".into()),
                BodyPart::Text(". Then see ".into()),
                BodyPart::Link("https://x.example/p?a=1".into()),
            ]
        );
    }

    #[test]
    fn ids_that_could_leave_the_folder_are_refused() {
        assert!(!valid_id("../secret"));
        assert!(!valid_id(""));
        assert!(valid_id("3f2a-11"));
    }
}
