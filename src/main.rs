fn main() -> std::process::ExitCode {
    shipit::cli::main()
}
