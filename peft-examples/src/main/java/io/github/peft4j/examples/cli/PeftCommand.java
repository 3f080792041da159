package io.github.peft4j.examples.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The {@code peft} command line. Subcommands map options onto peft4j's config builders and hold no logic of their own.
 */
@Command(
        name = "peft",
        mixinStandardHelpOptions = true,
        version = "peft4j 0.1.0-SNAPSHOT",
        description = "Parameter-efficient fine-tuning on the JVM (DJL + PyTorch).",
        subcommands = {
            TrainCommand.class,
            GenerateCommand.class,
            InstructCommand.class,
            EvalCommand.class,
            PredictCommand.class,
            MergeCommand.class,
            CombineCommand.class,
            LinesCommand.class,
            TransferCommand.class,
            DiagnoseCommand.class,
            GraftCommand.class,
            ComposeCommand.class,
            InspectCommand.class,
            QuickstartCommand.class,
            CommandLine.HelpCommand.class
        })
public final class PeftCommand implements Runnable {

    @CommandLine.Spec
    private CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(
                spec.commandLine(),
                "missing subcommand: choose one of " + spec.subcommands().keySet());
    }

    /**
     * Builds the command line with peft4j's error handling: bad arguments print a message and the usage (exit 2);
     * a failure while running prints {@code error: <message>} (exit 1), the stack trace only with {@code --debug}
     * in {@code PEFT4J_DEBUG}.
     *
     * @return the command line
     */
    public static CommandLine commandLine() {
        CommandLine cl = new CommandLine(new PeftCommand());
        cl.setExecutionExceptionHandler((ex, commandLine, parseResult) -> {
            commandLine.getErr().println("error: " + (ex.getMessage() == null ? ex.toString() : ex.getMessage()));
            if (System.getenv("PEFT4J_DEBUG") != null) {
                ex.printStackTrace(commandLine.getErr());
            }
            return 1;
        });
        return cl;
    }

    /**
     * Runs the command line.
     *
     * @param args the arguments
     */
    public static void main(String[] args) {
        // peft4j never downloads at run time: the libtorch natives come from the class path
        if (System.getenv("DJL_OFFLINE") == null && System.getProperty("ai.djl.offline") == null) {
            System.setProperty("ai.djl.offline", "true");
        }
        String malloc = MallocSettings.apply(System.getenv());
        String openBlas = OpenBlasCoreType.apply(System.getenv());
        org.slf4j.LoggerFactory.getLogger(PeftCommand.class)
                .debug("allocator settings: {}; OpenBLAS kernels: {}", malloc, openBlas);
        System.exit(commandLine().execute(args));
    }
}
