//! Starts the harness's throwaway PostgreSQL server (initdb + pg_ctl in a temporary directory),
//! prints its URL and keeps it until this process is stopped; the server then goes with it.
//! `scripts/test` runs it once so that every test process (nextest runs one per test) shares
//! one server through `DATABASE_URL` instead of starting its own.

fn main() {
    let url = pgplane_tests::postgres::server_url();
    println!("{url}");
    // The harness's watchdog stops the server and removes its directory when this process
    // ends (scripts/test kills it when the suite is over).
    loop {
        std::thread::park();
    }
}
