//! `levfarm serve`: the service, configured by an optional TOML file and a few flags.

use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;

use clap::Args;
use levfarm_server::{Config, Error};

use crate::exec::{EXIT_BAD_INPUT, EXIT_IO};

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Configuration file (TOML, every key optional): listen, store, scenario, feed, log,
    /// limits. Without one: loopback port 8080, `sqlite:levfarm.db`, the bundled market with
    /// its ETH/USD history replayed at 1800x.
    pub config: Option<String>,
    /// Address to listen on, over the file's `listen`.
    #[arg(long)]
    pub listen: Option<SocketAddr>,
    /// `sqlite:PATH` or `postgres://USER:PASSWORD@HOST:PORT/DATABASE`, over the file's `store`.
    #[arg(long)]
    pub store: Option<String>,
}

pub fn serve(args: &ServeArgs) -> ExitCode {
    let mut config = match &args.config {
        Some(path) => match std::fs::read_to_string(path) {
            Ok(text) => match Config::from_toml(path, &text) {
                Ok(c) => c,
                Err(e) => return fail(&e, EXIT_BAD_INPUT),
            },
            Err(e) => return fail(&Error::Config(format!("{path}: {e}")), EXIT_BAD_INPUT),
        },
        None => Config::default(),
    };
    if let Some(listen) = args.listen {
        config.listen = listen;
    }
    if let Some(store) = &args.store {
        config.store.clone_from(store);
    }
    levfarm_server::init_logging(config.log);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => return fail(&Error::Unavailable(e.to_string()), EXIT_IO),
    };
    let served = runtime.block_on(levfarm_server::serve(config, |started| {
        let mut err = std::io::stderr().lock();
        if let Some(token) = &started.admin_token {
            let _ = writeln!(err, "admin token (shown once; stored only as a hash): {token}");
        }
        let _ =
            writeln!(err, "levfarm serve: http://{} (journal at {})", started.addr, started.seq);
    }));
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(e @ (Error::Config(_) | Error::Journal(_))) => fail(&e, EXIT_BAD_INPUT),
        Err(e) => fail(&e, EXIT_IO),
    }
}

fn fail(e: &Error, code: u8) -> ExitCode {
    let _ = writeln!(std::io::stderr(), "levfarm serve: {e}");
    ExitCode::from(code)
}
