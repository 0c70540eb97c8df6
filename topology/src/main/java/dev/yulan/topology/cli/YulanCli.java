package dev.yulan.topology.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code yulan} command line: one subcommand per task a user has. */
@Command(
        name = "yulan",
        mixinStandardHelpOptions = true,
        version = "yulan-stream 0.1.0",
        description = "Serve the YuLan-Mini language model inside Kafka Streams.",
        subcommands = {
            CommandLine.HelpCommand.class,
            DemoCommand.class,
            RunCommand.class,
            ProduceCommand.class,
            ConsumeCommand.class,
            GenerateCommand.class,
            ModelCommand.class,
            BenchCommand.class,
            BrokerCommand.class,
            ConfigCommand.class,
        })
public final class YulanCli implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }

    public static void main(String[] args) {
        System.exit(commandLine().execute(args));
    }

    /** The configured command line: one-line errors instead of stack traces. */
    public static CommandLine commandLine() {
        CommandLine cli = new CommandLine(new YulanCli());
        cli.setExecutionExceptionHandler((ex, line, parsed) -> {
            line.getErr().println("yulan: " + (ex.getMessage() != null ? ex.getMessage() : ex.toString()));
            return 1;
        });
        return cli;
    }
}
