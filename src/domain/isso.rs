//! Isso's own vocabulary, for the three places that speak it (the Isso-compatible API, the Isso
//! import, the Isso export): its moderation modes and its times (seconds since 1970, a float).

use super::Status;
use std::time::UNIX_EPOCH;

/// Isso's `mode` of a comment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IssoMode {
    /// 1: shown.
    Accepted = 1,
    /// 2: waiting in the moderation queue.
    Pending = 2,
    /// 4: deleted, kept (no text, no author) because replies hang under it.
    Deleted = 4,
}

impl IssoMode {
    /// The mode a comment of this status has in Isso: spam and trash are Isso's deleted.
    pub fn of(status: Status) -> IssoMode {
        match status {
            Status::Published => IssoMode::Accepted,
            Status::Held => IssoMode::Pending,
            Status::Spam | Status::Trash => IssoMode::Deleted,
        }
    }

    /// The mode Isso stores as `number`, if it is one.
    pub fn from_number(number: i64) -> Option<IssoMode> {
        match number {
            1 => Some(IssoMode::Accepted),
            2 => Some(IssoMode::Pending),
            4 => Some(IssoMode::Deleted),
            _ => None,
        }
    }

    /// The status an imported comment of this mode gets (a deleted one goes to the trash).
    pub fn status(self) -> Status {
        match self {
            IssoMode::Accepted => Status::Published,
            IssoMode::Pending => Status::Held,
            IssoMode::Deleted => Status::Trash,
        }
    }

    /// The number Isso stores.
    pub fn number(self) -> i64 {
        self as i64
    }
}

/// An RFC 3339 time as Isso's seconds since 1970 (0 when it cannot be read).
pub fn unix_seconds(rfc3339: &str) -> f64 {
    humantime::parse_rfc3339_weak(rfc3339)
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0.0, |d| d.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_round_trip_through_statuses() {
        for mode in [IssoMode::Accepted, IssoMode::Pending, IssoMode::Deleted] {
            assert_eq!(IssoMode::from_number(mode.number()), Some(mode));
            assert_eq!(IssoMode::of(mode.status()), mode);
        }
        assert_eq!(IssoMode::of(Status::Spam), IssoMode::Deleted);
        assert_eq!(IssoMode::from_number(3), None);
        assert_eq!(unix_seconds("1970-01-01T00:01:00Z"), 60.0);
        assert_eq!(unix_seconds("not a time"), 0.0);
    }
}
