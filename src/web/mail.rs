//! E-mail to a site's moderators through the operator's SMTP server (`--smtp-url`, lettre): the
//! message for a comment that waits carries one-click links to decide it ([`super::one_click`]).

use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

/// An SMTP connection configuration and the sender address.
pub struct Mailer {
    /// The server, for logs (no password).
    server: String,
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl Mailer {
    /// From `smtp://[user:password@]host[:port]` (plain, or STARTTLS with `?tls=required`) or
    /// `smtps://…` (TLS from the start), and the address mail is sent from.
    pub fn new(url: &str, from: &str) -> Result<Mailer, String> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| format!("--smtp-url: {e} (e.g. smtps://user:password@mail.example.com)"))?
            .timeout(Some(std::time::Duration::from_secs(10)))
            .build();
        let from = from
            .parse::<Mailbox>()
            .map_err(|e| format!("--smtp-from `{from}`: {e}"))?;
        let server = url::Url::parse(url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_string))
            .unwrap_or_default();
        Ok(Mailer {
            server,
            transport,
            from,
        })
    }

    /// Sends a plain-text message to each address of `to`.
    pub async fn send(&self, to: &[String], subject: &str, body: &str) -> Result<(), String> {
        let mut message = Message::builder().from(self.from.clone()).subject(subject);
        for address in to {
            let mailbox = address
                .parse::<Mailbox>()
                .map_err(|e| format!("`{address}`: {e}"))?;
            message = message.to(mailbox);
        }
        // Declared UTF-8 plain text: readers' names and texts are any script.
        let message = message
            .header(lettre::message::header::ContentType::TEXT_PLAIN)
            .body(body.to_string())
            .map_err(|e| format!("cannot write the message: {e}"))?;
        self.transport
            .send(message)
            .await
            .map(|_| ())
            .map_err(|e| format!("SMTP: {e}"))
    }
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer")
            .field("server", &self.server)
            .field("from", &self.from.to_string())
            .finish()
    }
}

/// Whether `address` is one an e-mail can go to.
pub fn valid_address(address: &str) -> bool {
    address.parse::<Mailbox>().is_ok()
}
