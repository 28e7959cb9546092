//! The site's own identity on its public pages: title, tagline, public address, navigation
//! links, accent colour and logo. Kept in the settings table (`site.*` keys); `serve` flags
//! store theirs at start, and `/admin` → Settings edits them while serving.

use crate::domain::{DEFAULT_SITE, DEFAULT_SITE_NAME, Site};
use crate::storage::{CommentStore, SiteChange, StorageError};

/// Settings keys, in the order the Settings form shows them.
pub const KEYS: [&str; 6] = [
    "site.title",
    "site.tagline",
    "site.url",
    "site.nav",
    "site.accent",
    "site.logo",
];

/// What the public pages show of the site.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub title: String,
    pub tagline: String,
    /// The public address, e.g. `https://blog.example.com` (empty: unset).
    pub url: String,
    /// Header links, `(label, href)`.
    pub nav: Vec<(String, String)>,
    /// Accent colour, `#rgb` or `#rrggbb` (empty: the default).
    pub accent: String,
    /// Logo image address (empty: none).
    pub logo: String,
}

impl Identity {
    /// The name `site` goes by in mail and lists: the default site by these pages' title, not
    /// the placeholder its row keeps; another site by its own.
    pub fn title_of(&self, site: &Site) -> String {
        if site.id == DEFAULT_SITE {
            self.title.clone()
        } else {
            site.title.clone()
        }
    }
}

impl Identity {
    /// What a page of another site (a thread of one that embeds the comments) shows of it: its
    /// own title, none of this server's tagline, links, colour or logo.
    pub fn for_site(&self, site: &Site) -> Identity {
        Identity {
            title: self.title_of(site),
            url: site.public_origin().unwrap_or_default().to_string(),
            ..Identity::default()
        }
    }
}

impl Default for Identity {
    fn default() -> Self {
        Identity {
            title: "My blog".into(),
            tagline: String::new(),
            url: String::new(),
            nav: Vec::new(),
            accent: String::new(),
            logo: String::new(),
        }
    }
}

/// The site as lists show it: the default site by the title its pages show (`site.title`), not
/// the placeholder its row keeps; another site by its own.
pub async fn titled(store: &dyn CommentStore, mut site: Site) -> Result<Site, StorageError> {
    if site.id == DEFAULT_SITE {
        site.title = Identity::load(store).await?.title_of(&site);
    }
    Ok(site)
}

/// A title given to the default site (`sites add default --title`, the admin API) is its pages'
/// title: one title for the default site, wherever it is set. Whether the pages' title changed.
pub async fn retitle_default(
    store: &dyn CommentStore,
    change: &SiteChange,
) -> Result<bool, StorageError> {
    match &change.title {
        Some(title) if change.name.as_str() == DEFAULT_SITE_NAME => {
            store.set_setting("site.title", title).await?;
            Ok(true)
        }
        _ => Ok(false),
    }
}

/// Parses navigation links written `Label=URL`, one per line or comma-separated.
pub fn parse_nav(text: &str) -> Result<Vec<(String, String)>, String> {
    text.split(['\n', ','])
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| {
            let (label, href) = l
                .split_once('=')
                .ok_or_else(|| format!("navigation link `{l}` is not written Label=URL"))?;
            let href = href.trim();
            if !(href.starts_with('/')
                || href.starts_with("https://")
                || href.starts_with("http://"))
            {
                return Err(format!(
                    "navigation link `{l}`: the address must start with /, http:// or https://"
                ));
            }
            Ok((label.trim().to_string(), href.to_string()))
        })
        .collect()
}

/// Checks one setting's value; returns it cleaned.
pub fn validate(key: &str, value: &str) -> Result<String, String> {
    let value = value.trim();
    match key {
        "site.title" if value.is_empty() => Err("the site title cannot be empty".into()),
        "site.title" | "site.tagline" if value.chars().count() > 200 => {
            Err("keep the title and tagline under 200 characters".into())
        }
        "site.accent" if !(value.is_empty() || is_hex_colour(value)) => {
            Err("the accent colour is written #rgb or #rrggbb, e.g. #3366cc".into())
        }
        "site.url" | "site.logo"
            if !(value.is_empty()
                || value.starts_with("https://")
                || value.starts_with("http://")) =>
        {
            Err(format!(
                "{key}: an address starting with https:// or http://"
            ))
        }
        "site.nav" => parse_nav(value).map(|_| value.to_string()),
        _ => Ok(value.to_string()),
    }
}

impl Identity {
    /// The stored settings over the defaults.
    pub async fn load(store: &dyn CommentStore) -> Result<Identity, StorageError> {
        let mut site = Identity::default();
        for key in KEYS {
            let Some(value) = store.setting(key).await? else {
                continue;
            };
            match key {
                "site.title" if !value.trim().is_empty() => site.title = value,
                "site.tagline" => site.tagline = value,
                "site.url" => site.url = value,
                "site.nav" => site.nav = parse_nav(&value).unwrap_or_default(),
                "site.accent" => site.accent = value,
                "site.logo" => site.logo = value,
                _ => {}
            }
        }
        Ok(site)
    }

    /// One setting's current value as the Settings form shows it.
    pub fn value(&self, key: &str) -> String {
        match key {
            "site.title" => self.title.clone(),
            "site.tagline" => self.tagline.clone(),
            "site.url" => self.url.clone(),
            "site.nav" => self
                .nav
                .iter()
                .map(|(l, h)| format!("{l}={h}"))
                .collect::<Vec<_>>()
                .join("\n"),
            "site.accent" => self.accent.clone(),
            "site.logo" => self.logo.clone(),
            _ => String::new(),
        }
    }

    /// The theme stylesheet (`/static/theme.css`): the accent colour, when set.
    pub fn theme_css(&self) -> String {
        if self.accent.is_empty() {
            return String::new();
        }
        format!(
            "a{{color:{0}}}header.site{{border-bottom:3px solid {0}}}button{{background:{0};color:#fff;border-color:{0}}}\n",
            self.accent
        )
    }

    /// A short fingerprint of what the pages show, for caches and the theme's address.
    pub fn revision(&self) -> String {
        use sha2::{Digest, Sha256};
        let all = KEYS
            .iter()
            .map(|k| self.value(k))
            .collect::<Vec<_>>()
            .join("\u{1f}");
        hex::encode(&Sha256::digest(all.as_bytes())[..6])
    }
}

/// `#rgb` or `#rrggbb`.
fn is_hex_colour(value: &str) -> bool {
    value.starts_with('#')
        && matches!(value.len(), 4 | 7)
        && value[1..].chars().all(|c| c.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_are_checked() {
        assert!(validate("site.accent", "#3366cc").is_ok());
        assert!(validate("site.accent", "red;}body{").is_err());
        assert!(validate("site.title", " ").is_err());
        assert!(validate("site.logo", "javascript:alert(1)").is_err());
        assert_eq!(
            parse_nav("Home=/, About=https://example.org/about").unwrap(),
            vec![
                ("Home".to_string(), "/".to_string()),
                ("About".to_string(), "https://example.org/about".to_string())
            ]
        );
        assert!(parse_nav("Bad=javascript:x").is_err());
    }
}
