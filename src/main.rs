fn main() -> std::process::ExitCode {
    spark_chaos::cli::main()
}
