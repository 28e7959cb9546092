//! Where old links to an imported comment point: the fragment its first home gave it.

/// The anchor (`id` of the element) an imported comment had on its old site, from its remote id:
/// WordPress and Disqus link comments as `#comment-ID`, Isso as `#isso-ID`. `None` for a comment
/// born here, or an id that is not a plain number.
pub fn old_anchor(remote_id: &str) -> Option<String> {
    let (system, id) = remote_id.split_once(':')?;
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    match system {
        "wordpress" | "disqus" => Some(format!("comment-{id}")),
        "isso" => Some(format!("isso-{id}")),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::old_anchor;

    #[test]
    fn each_system_keeps_its_own_fragment() {
        assert_eq!(old_anchor("wordpress:7").as_deref(), Some("comment-7"));
        assert_eq!(
            old_anchor("disqus:123456").as_deref(),
            Some("comment-123456")
        );
        assert_eq!(old_anchor("isso:7").as_deref(), Some("isso-7"));
        assert_eq!(old_anchor("wordpress-post:7"), None);
        assert_eq!(old_anchor("wordpress:7\"><script>"), None);
        assert_eq!(old_anchor("wordpress:"), None);
    }
}
