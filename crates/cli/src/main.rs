/// mimalloc: far cheaper than the system allocator for the many small, short-lived
/// allocations of parsing thousands of files on several threads.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    std::process::exit(djcheck_cli::main_with_std());
}
