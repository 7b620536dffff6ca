//! What the session object answers, built from the record after the saga has run.
