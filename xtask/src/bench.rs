pub fn run() -> crate::shell::Result {
    Err("bench: not yet".into())
}
