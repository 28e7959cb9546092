//! `replyguard sites`: the sites one server hosts — add one (or add origins to it), list them,
//! remove one (or one origin). Running servers on the same database see a change within a
//! second; the admin API (`/api/v1/admin/sites`) makes the same changes.

use crate::domain::{Moderation, SiteName, SiteOrigin, SiteSettings};
use crate::storage::SiteChange;
use anyhow::Context;
use clap::{Args, Subcommand};

#[derive(Debug, Args)]
pub struct SitesArgs {
    #[command(flatten)]
    pub db: super::DbArg,
    #[command(subcommand)]
    pub command: SitesCommand,
}

#[derive(Debug, Subcommand)]
pub enum SitesCommand {
    /// Create a site, or add origins to an existing one (and change its title or moderation).
    Add {
        /// Its name: lowercase letters, digits and `-` (e.g. `blog`).
        name: String,
        /// An origin its pages are served from, `scheme://host[:port]` (repeatable).
        #[arg(long = "origin", value_name = "URL")]
        origins: Vec<String>,
        /// Its title (the name when not given).
        #[arg(long)]
        title: Option<String>,
        /// `auto`: the filter's verdict decides; `all`: every comment waits for a moderator.
        #[arg(long, value_name = "auto|all")]
        moderation: Option<String>,
    },
    /// List the sites with their origins, as JSON lines.
    List,
    /// Close pages of a site to new comments (readers see "Comments are closed on this page.";
    /// what is there stays shown), as WordPress's per-post switch does.
    Close {
        name: String,
        /// A page's path, as the embed names it (e.g. `/2019/04/old-post/`); repeatable.
        #[arg(required = true, value_name = "URI")]
        uris: Vec<String>,
    },
    /// Open closed pages of a site to new comments again.
    Open {
        name: String,
        #[arg(required = true, value_name = "URI")]
        uris: Vec<String>,
    },
    /// Remove a site (its comments stay), or with --origin only that origin.
    Remove {
        name: String,
        /// Remove only this origin.
        #[arg(long, value_name = "URL")]
        origin: Option<String>,
    },
}

pub fn run(args: SitesArgs) -> anyhow::Result<()> {
    // What a new site is named and given is checked before the database is opened, which
    // creates it: a refused command leaves no new file behind.
    if let SitesCommand::Add {
        name,
        origins,
        moderation,
        ..
    } = &args.command
    {
        SiteName::parse(name).map_err(super::UsageError)?;
        for origin in origins {
            SiteOrigin::parse(origin).map_err(super::UsageError)?;
        }
        if let Some(raw) = moderation.as_deref()
            && Moderation::parse(raw).is_none()
        {
            return Err(
                super::UsageError(format!("--moderation `{raw}`: use `auto` or `all`")).into(),
            );
        }
    }
    let rt = super::runtime()?;
    // Adding a site may create the database; listing or removing reads one that is there.
    let store = match args.command {
        SitesCommand::Add { .. } => rt.block_on(crate::storage::open(&args.db.db))?,
        _ => rt.block_on(crate::storage::open_existing(&args.db.db))?,
    };
    match args.command {
        SitesCommand::Add {
            name,
            origins,
            title,
            moderation,
        } => {
            let name = SiteName::parse(&name).map_err(super::UsageError)?;
            let origins = origins
                .iter()
                .map(|o| SiteOrigin::parse(o).map_err(super::UsageError))
                .collect::<Result<Vec<_>, _>>()?;
            let existing = rt
                .block_on(store.sites())?
                .into_iter()
                .find(|s| s.name == name.as_str());
            let settings = match moderation {
                None => None,
                Some(raw) => {
                    let moderation = Moderation::parse(&raw).ok_or_else(|| {
                        super::UsageError(format!("--moderation `{raw}`: use `auto` or `all`"))
                    })?;
                    let base = existing.as_ref().map(|s| s.settings).unwrap_or_default();
                    Some(SiteSettings { moderation, ..base })
                }
            };
            let change = SiteChange {
                name,
                title: title
                    .map(|t| crate::domain::site::thread_title(&t))
                    .filter(|t| !t.is_empty()),
                origins,
                settings,
            };
            let site = rt.block_on(async {
                let site = store.add_site(&change).await?;
                crate::web::identity::retitle_default(&*store, &change).await?;
                crate::web::identity::titled(&*store, site).await
            })?;
            let verb = if existing.is_some() {
                "changed"
            } else {
                "added"
            };
            eprintln!("{verb} site `{}`", site.name);
            println!("{}", serde_json::to_string(&site)?);
        }
        SitesCommand::List => {
            for site in rt.block_on(store.sites())? {
                let site = rt.block_on(crate::web::identity::titled(&*store, site))?;
                println!("{}", serde_json::to_string(&site)?);
            }
        }
        SitesCommand::Close { name, uris } => set_open(&rt, &*store, &name, &uris, false)?,
        SitesCommand::Open { name, uris } => set_open(&rt, &*store, &name, &uris, true)?,
        SitesCommand::Remove { name, origin } => {
            let origins = match origin {
                Some(o) => vec![SiteOrigin::parse(&o).map_err(anyhow::Error::msg)?],
                None => Vec::new(),
            };
            if !rt.block_on(store.remove_site(&name, &origins))? {
                anyhow::bail!("no site `{name}` (see `replyguard sites list`)");
            }
            match origins.first() {
                Some(o) => eprintln!("removed origin {o} from site `{name}`"),
                None => eprintln!("removed site `{name}`; its comments stay"),
            }
        }
    }
    Ok(())
}

/// Opens or closes pages `uris` of site `name` to new comments; each thread is printed after.
fn set_open(
    rt: &tokio::runtime::Runtime,
    store: &dyn crate::storage::Store,
    name: &str,
    uris: &[String],
    open: bool,
) -> anyhow::Result<()> {
    let site = rt
        .block_on(store.sites())?
        .into_iter()
        .find(|s| s.name == name)
        .with_context(|| format!("no site `{name}` (see `replyguard sites list`)"))?;
    // Every address is checked before any page changes.
    let keys = uris
        .iter()
        .map(|raw| rt.block_on(page_key(store, &site, raw)))
        .collect::<anyhow::Result<Vec<_>>>()?;
    for key in keys {
        let thread = rt.block_on(store.set_comments_open(site.id, &key, &key, open))?;
        let state = if open { "open" } else { "closed" };
        eprintln!("comments {state} on `{name}` {key}");
        println!("{}", serde_json::to_string(&thread)?);
    }
    // Running servers' cached pages (an article's form) must not outlive this process's news.
    rt.block_on(store.announce_changes())?;
    Ok(())
}

/// The thread key of page `raw` of `site`, which must be a page with comments: its path as a
/// browser sends it (`/résumé/` is `/r%C3%A9sum%C3%A9/`, as the embed and Isso's widget name
/// it), or on the default site an article's `/articles/SLUG`. A page with none is refused, the
/// other spelling of its trailing slash suggested: closing a page no comment names would close
/// nothing readers post to.
async fn page_key(
    store: &dyn crate::storage::Store,
    site: &crate::domain::Site,
    raw: &str,
) -> anyhow::Result<String> {
    let uri = crate::domain::site::thread_uri(raw).map_err(super::UsageError)?;
    // `//host/` (or `/\host/`, which reads the same) is another host's address to a browser,
    // never a page of this site.
    if uri.starts_with("//") {
        return Err(super::UsageError(format!(
            "`{uri}` is not a page's path (it starts like another host's address)"
        ))
        .into());
    }
    if store.thread(site.id, &uri).await?.is_some() {
        return Ok(uri);
    }
    if site.id == crate::domain::DEFAULT_SITE
        && let Some(slug) = uri.strip_prefix("/articles/")
    {
        let slug = slug.trim_end_matches('/');
        let known = store.count_published(site.id, slug).await? > 0
            || slug == crate::articles::default_article().slug
            || store
                .public_articles()
                .await?
                .iter()
                .any(|a| a.slug == slug);
        anyhow::ensure!(
            known,
            "there is no article `{slug}` with comments on the default site"
        );
        return Ok(slug.to_string());
    }
    let other = match uri.strip_suffix('/') {
        Some(bare) if !bare.is_empty() => bare.to_string(),
        _ => format!("{uri}/"),
    };
    let hint = match store.thread(site.id, &other).await? {
        Some(_) => format!(" (it has `{other}`)"),
        None => String::new(),
    };
    anyhow::bail!(
        "site `{}` has no comments on `{uri}`{hint}: a page is known by the path its embed sends, \
         once it has a comment",
        site.name
    )
}
