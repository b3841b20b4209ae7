fn main() -> std::process::ExitCode {
    sijill::cli::main()
}
