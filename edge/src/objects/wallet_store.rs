//! The wallet's SQLite tables and the only SQL that touches them.
//!
//! `transfers` is append-only: a row is never updated or deleted. Its primary key is the id the
//! caller chose (a payment id, `credit:<reference>`), which is what makes every operation
//! idempotent. `accounts` holds the running totals the ledger rules check against.
//!
//! The account rows and the pay-password row are kept in memory once read (write-through: every
//! write to them goes through this file, which updates or forgets the copy; a failed write forgets
//! it; a restart starts empty). An object runs one event at a time, so nothing else can change a
//! row behind its copy, and a warm wallet's payment reads neither table: its statements are the
//! two idempotency lookups (before and after the password's check) and its two writes.

use checkout_core::ledger::Account;
use checkout_core::pay_password::AttemptGuard;
use checkout_core::Currency;
use serde::{Deserialize, Serialize};
use worker::SqlStorage;

use crate::error::Result;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS accounts (
    account TEXT PRIMARY KEY,
    credits_posted INTEGER NOT NULL,
    debits_posted INTEGER NOT NULL,
    debits_pending INTEGER NOT NULL,
    CHECK (credits_posted - debits_posted - debits_pending >= 0)
);
CREATE TABLE IF NOT EXISTS transfers (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    account TEXT NOT NULL,
    amount_minor INTEGER NOT NULL,
    created_at_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS holds (
    id TEXT PRIMARY KEY,
    grp TEXT NOT NULL,
    account TEXT NOT NULL,
    amount_minor INTEGER NOT NULL,
    state TEXT NOT NULL,
    expires_at_ms INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS holds_by_group ON holds (grp);
CREATE TABLE IF NOT EXISTS pay_password (
    k INTEGER PRIMARY KEY CHECK (k = 1),
    hash TEXT NOT NULL,
    salt TEXT NOT NULL,
    iterations INTEGER NOT NULL,
    failed_attempts INTEGER NOT NULL,
    locked_until_ms INTEGER NOT NULL,
    pepper_kid TEXT,
    lockouts INTEGER NOT NULL DEFAULT 0,
    hard_locked INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS owner (
    k INTEGER PRIMARY KEY CHECK (k = 1),
    merchant_scope TEXT NOT NULL,
    customer_id TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, event TEXT NOT NULL);";

/// Columns added to `pay_password` since it was first created, with their definitions (a new
/// wallet's table has them from the start; an older one gets them on its next start). Rows from
/// before have no pepper (`pepper_kid` NULL) and no escalation.
const PASSWORD_COLUMNS: [(&str, &str); 3] = [
    ("pepper_kid", "TEXT"),
    ("lockouts", "INTEGER NOT NULL DEFAULT 0"),
    ("hard_locked", "INTEGER NOT NULL DEFAULT 0"),
];

/// What a transfer did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TransferKind {
    Credit,
    Debit,
    /// Records that an id was abandoned, so a late request with it can never move money.
    Fence,
    /// A pending hold placed, posted, voided or expired (two-phase transfers).
    Hold,
    Post,
    Void,
    Expire,
}

/// One pending hold on one account, part of a group (a payment's legs).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HoldRow {
    pub id: String,
    pub grp: String,
    pub account: String,
    pub amount_minor: i64,
    pub state: checkout_core::ledger::HoldState,
    pub expires_at_ms: i64,
}

impl HoldRow {
    pub fn hold(&self) -> checkout_core::ledger::Hold {
        checkout_core::ledger::Hold {
            amount: self.amount_minor,
            state: self.state,
            expires_at_ms: self.expires_at_ms,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransferRow {
    pub id: String,
    pub kind: TransferKind,
    pub account: String,
    pub amount_minor: i64,
    pub created_at_ms: i64,
}

/// The stored pay password: its hash with the KDF's parameters, and its lockout.
#[derive(Debug, Clone, Deserialize)]
pub struct PasswordRow {
    pub hash: String,
    pub salt: String,
    pub iterations: u32,
    /// The pepper's key id; `None` for a hash made before peppers (PBKDF2 of the bare password).
    pub pepper_kid: Option<String>,
    pub failed_attempts: u32,
    pub locked_until_ms: i64,
    pub lockouts: u32,
    pub hard_locked: i64,
}

impl PasswordRow {
    pub fn guard(&self) -> AttemptGuard {
        AttemptGuard {
            failed_attempts: self.failed_attempts,
            locked_until_ms: self.locked_until_ms,
            lockouts: self.lockouts,
            hard_locked: self.hard_locked != 0,
        }
    }
}

/// A pay-password hash and the parameters that made it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordHash {
    pub hash: String,
    pub salt: String,
    pub iterations: u32,
    pub pepper_kid: Option<String>,
}

/// Who a wallet belongs to: where its events go.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WalletOwner {
    pub merchant_scope: String,
    pub customer_id: String,
}

pub struct WalletStore {
    sql: SqlStorage,
    /// The owner row as last read or written (write-through; `None`: not read yet). An object
    /// runs one event at a time, so nothing changes the row behind it.
    owner: std::cell::RefCell<Option<Option<WalletOwner>>>,
    /// Whether the outbox may hold events: set at start and by every [`WalletStore::push_event`],
    /// cleared only when a read finds it empty, so a call with nothing to hand over (nearly
    /// all) reads no outbox.
    outbox_pending: std::cell::Cell<bool>,
    /// The account rows as last read or written (a missing row is the empty account).
    accounts: std::cell::RefCell<std::collections::HashMap<String, Account>>,
    /// The pay-password row as last read (`None`: not read since the last write to it).
    password: std::cell::RefCell<Option<Option<PasswordRow>>>,
    /// Transfers this instance has begun to write: an id looked up before an `await` is still
    /// absent after it if this has not moved (only this object writes `transfers`).
    transfers_written: std::cell::Cell<u64>,
}

/// The account that holds store balance in `currency`.
pub fn balance_account(currency: Currency) -> String {
    format!("balance:{}", currency.code())
}

impl WalletStore {
    pub fn open(sql: SqlStorage) -> Result<WalletStore> {
        // One `exec` of every statement (Cloudflare, "SQL Storage": `exec` runs several
        // statements separated by semicolons), not one call each.
        sql.exec(SCHEMA, None)?;
        #[derive(Deserialize)]
        struct Column {
            name: String,
        }
        let columns: Vec<Column> = sql
            .exec("PRAGMA table_info(pay_password)", None)?
            .to_array()?;
        for (name, definition) in PASSWORD_COLUMNS {
            if !columns.iter().any(|c| c.name == name) {
                sql.exec(
                    &format!("ALTER TABLE pay_password ADD COLUMN {name} {definition}"),
                    None,
                )?;
            }
        }
        Ok(WalletStore {
            sql,
            owner: std::cell::RefCell::new(None),
            outbox_pending: std::cell::Cell::new(true),
            accounts: std::cell::RefCell::new(std::collections::HashMap::new()),
            password: std::cell::RefCell::new(None),
            transfers_written: std::cell::Cell::new(0),
        })
    }

    pub fn account(&self, account: &str) -> Result<Account> {
        if let Some(known) = self.accounts.borrow().get(account) {
            return Ok(*known);
        }
        let rows: Vec<Account> = self
            .sql
            .exec(
                "SELECT credits_posted, debits_posted, debits_pending FROM accounts WHERE account = ?",
                vec![account.into()],
            )?
            .to_array()?;
        let totals = rows.into_iter().next().unwrap_or_default();
        self.accounts
            .borrow_mut()
            .insert(account.to_owned(), totals);
        Ok(totals)
    }

    pub fn accounts(&self) -> Result<Vec<(String, Account)>> {
        #[derive(Deserialize)]
        struct Row {
            account: String,
            credits_posted: i64,
            debits_posted: i64,
            debits_pending: i64,
        }
        let rows: Vec<Row> = self
            .sql
            .exec("SELECT * FROM accounts ORDER BY account", None)?
            .to_array()?;
        Ok(rows
            .into_iter()
            .map(|r| {
                let totals = Account {
                    credits_posted: r.credits_posted,
                    debits_posted: r.debits_posted,
                    debits_pending: r.debits_pending,
                };
                (r.account, totals)
            })
            .collect())
    }

    pub fn transfer(&self, id: &str) -> Result<Option<TransferRow>> {
        let rows: Vec<TransferRow> = self
            .sql
            .exec("SELECT * FROM transfers WHERE id = ?", vec![id.into()])?
            .to_array()?;
        Ok(rows.into_iter().next())
    }

    /// How many transfers this instance has begun to write (see `transfers_written`).
    pub fn transfers_written(&self) -> u64 {
        self.transfers_written.get()
    }

    /// The transfers with either id, in one statement (a payment's balance and points legs).
    pub fn transfers_of(&self, id: &str, other: &str) -> Result<Vec<TransferRow>> {
        Ok(self
            .sql
            .exec(
                "SELECT * FROM transfers WHERE id IN (?, ?)",
                vec![id.into(), other.into()],
            )?
            .to_array()?)
    }

    /// Appends a transfer and the account totals it produced. Call with no `await` between this
    /// and the checks that allowed it: the runtime commits one synchronous turn atomically.
    pub fn record(&self, transfer: &TransferRow, totals: Option<&Account>) -> Result<()> {
        self.transfers_written.set(self.transfers_written.get() + 1);
        self.sql.exec(
            "INSERT INTO transfers (id, kind, account, amount_minor, created_at_ms) VALUES (?, ?, ?, ?, ?)",
            vec![
                transfer.id.as_str().into(),
                serde_json::to_value(transfer.kind)?.as_str().unwrap_or("").into(),
                transfer.account.as_str().into(),
                transfer.amount_minor.into(),
                transfer.created_at_ms.into(),
            ],
        )?;
        if let Some(totals) = totals {
            // Forgotten first: a failed write leaves the stored row as it was, read again later.
            self.accounts.borrow_mut().remove(&transfer.account);
            self.sql.exec(
                "INSERT INTO accounts (account, credits_posted, debits_posted, debits_pending) VALUES (?, ?, ?, ?)
                 ON CONFLICT (account) DO UPDATE SET credits_posted = excluded.credits_posted,
                 debits_posted = excluded.debits_posted, debits_pending = excluded.debits_pending",
                vec![
                    transfer.account.as_str().into(),
                    totals.credits_posted.into(),
                    totals.debits_posted.into(),
                    totals.debits_pending.into(),
                ],
            )?;
            self.accounts
                .borrow_mut()
                .insert(transfer.account.clone(), *totals);
        }
        Ok(())
    }

    pub fn holds_in_group(&self, group: &str) -> Result<Vec<HoldRow>> {
        Ok(self
            .sql
            .exec(
                "SELECT * FROM holds WHERE grp = ? ORDER BY id",
                vec![group.into()],
            )?
            .to_array()?)
    }

    /// Pending holds whose time is up.
    pub fn due_holds(&self, now_ms: i64) -> Result<Vec<HoldRow>> {
        Ok(self
            .sql
            .exec(
                "SELECT * FROM holds WHERE state = 'pending' AND expires_at_ms <= ?",
                vec![now_ms.into()],
            )?
            .to_array()?)
    }

    /// When the next pending hold expires.
    pub fn next_expiry_ms(&self) -> Result<Option<i64>> {
        #[derive(Deserialize)]
        struct Row {
            next: Option<i64>,
        }
        let rows: Vec<Row> = self
            .sql
            .exec(
                "SELECT MIN(expires_at_ms) AS next FROM holds WHERE state = 'pending'",
                None,
            )?
            .to_array()?;
        Ok(rows.into_iter().next().and_then(|r| r.next))
    }

    /// Writes a hold's new state. Call in the same turn as the transfer that records why.
    pub fn save_hold(&self, hold: &HoldRow) -> Result<()> {
        self.sql.exec(
            "INSERT INTO holds (id, grp, account, amount_minor, state, expires_at_ms) VALUES (?, ?, ?, ?, ?, ?)
             ON CONFLICT (id) DO UPDATE SET state = excluded.state",
            vec![
                hold.id.as_str().into(),
                hold.grp.as_str().into(),
                hold.account.as_str().into(),
                hold.amount_minor.into(),
                serde_json::to_value(hold.state)?.as_str().unwrap_or("").into(),
                hold.expires_at_ms.into(),
            ],
        )?;
        Ok(())
    }

    pub fn password(&self) -> Result<Option<PasswordRow>> {
        if let Some(known) = self.password.borrow().as_ref() {
            return Ok(known.clone());
        }
        let rows: Vec<PasswordRow> = self
            .sql
            .exec("SELECT * FROM pay_password WHERE k = 1", None)?
            .to_array()?;
        let row = rows.into_iter().next();
        self.password.replace(Some(row.clone()));
        Ok(row)
    }

    /// Forgets the in-memory password row: called before every write to it (the write may change
    /// it, or, for a conditional update, not), so the next read is of the stored row.
    fn forget_password(&self) {
        self.password.replace(None);
    }

    /// Sets or replaces the password, clearing the count and any lockout.
    pub fn set_password(&self, hash: &PasswordHash) -> Result<()> {
        self.forget_password();
        self.sql.exec(
            "INSERT INTO pay_password (k, hash, salt, iterations, pepper_kid, failed_attempts,
             locked_until_ms, lockouts, hard_locked) VALUES (1, ?, ?, ?, ?, 0, 0, 0, 0)
             ON CONFLICT (k) DO UPDATE SET hash = excluded.hash, salt = excluded.salt,
             iterations = excluded.iterations, pepper_kid = excluded.pepper_kid,
             failed_attempts = 0, locked_until_ms = 0, lockouts = 0, hard_locked = 0",
            vec![
                hash.hash.as_str().into(),
                hash.salt.as_str().into(),
                (hash.iterations as i64).into(),
                text_or_null(hash.pepper_kid.as_deref()),
            ],
        )?;
        Ok(())
    }

    /// Replaces the hash of the same password (an upgrade), keeping the lockout state. Only the
    /// row whose hash is still `old_hash` changes, so a password set meanwhile is never undone.
    pub fn rehash_password(&self, old_hash: &str, hash: &PasswordHash) -> Result<()> {
        self.forget_password();
        self.sql.exec(
            "UPDATE pay_password SET hash = ?, salt = ?, iterations = ?, pepper_kid = ?
             WHERE k = 1 AND hash = ?",
            vec![
                hash.hash.as_str().into(),
                hash.salt.as_str().into(),
                (hash.iterations as i64).into(),
                text_or_null(hash.pepper_kid.as_deref()),
                old_hash.into(),
            ],
        )?;
        Ok(())
    }

    pub fn save_guard(&self, guard: &AttemptGuard) -> Result<()> {
        self.forget_password();
        self.sql.exec(
            "UPDATE pay_password SET failed_attempts = ?, locked_until_ms = ?, lockouts = ?,
             hard_locked = ? WHERE k = 1",
            vec![
                (guard.failed_attempts as i64).into(),
                guard.locked_until_ms.into(),
                (guard.lockouts as i64).into(),
                i64::from(guard.hard_locked).into(),
            ],
        )?;
        Ok(())
    }

    pub fn owner(&self) -> Result<Option<WalletOwner>> {
        if let Some(owner) = self.owner.borrow().as_ref() {
            return Ok(owner.clone());
        }
        let rows: Vec<WalletOwner> = self
            .sql
            .exec(
                "SELECT merchant_scope, customer_id FROM owner WHERE k = 1",
                None,
            )?
            .to_array()?;
        let owner = rows.into_iter().next();
        self.owner.replace(Some(owner.clone()));
        Ok(owner)
    }

    pub fn set_owner(&self, owner: &WalletOwner) -> Result<()> {
        let written = self.sql.exec(
            "INSERT INTO owner (k, merchant_scope, customer_id) VALUES (1, ?, ?)
             ON CONFLICT (k) DO UPDATE SET merchant_scope = excluded.merchant_scope,
             customer_id = excluded.customer_id",
            vec![
                owner.merchant_scope.as_str().into(),
                owner.customer_id.as_str().into(),
            ],
        );
        // Read again next time unless written: a failed write leaves the row as it was.
        self.owner
            .replace(written.is_ok().then(|| Some(owner.clone())));
        written?;
        Ok(())
    }

    /// Appends an event for the merchant. Call in the same turn as the change it reports.
    pub fn push_event<E: Serialize>(&self, event: &E) -> Result<()> {
        self.sql.exec(
            "INSERT INTO outbox (event) VALUES (?)",
            vec![serde_json::to_string(event)?.into()],
        )?;
        self.outbox_pending.set(true);
        Ok(())
    }

    /// The events not yet handed over, with the last sequence number.
    pub fn outbox<E: serde::de::DeserializeOwned>(&self) -> Result<(Vec<E>, i64)> {
        if !self.outbox_pending.get() {
            return Ok((Vec::new(), 0));
        }
        let outbox = super::read_outbox(&self.sql)?;
        if outbox.as_ref().is_none_or(|(events, _)| events.is_empty()) {
            self.outbox_pending.set(false);
        }
        Ok(outbox.unwrap_or((Vec::new(), 0)))
    }

    /// Drops the events up to `last`: the `Webhooks` object has them.
    pub fn clear_outbox(&self, last: i64) -> Result<()> {
        super::clear_outbox(&self.sql, last)
    }
}

fn text_or_null(value: Option<&str>) -> worker::SqlStorageValue {
    match value {
        Some(text) => text.into(),
        None => worker::SqlStorageValue::Null,
    }
}
