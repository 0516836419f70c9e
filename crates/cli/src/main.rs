fn main() {
    std::process::exit(djcheck_cli::main_with_std());
}
