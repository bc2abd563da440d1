using System.CommandLine;
using TrainingService.Cli;
using TrainingService.Cli.Commands;
using TrainingService.Contracts.Checkpoints;
using TrainingService.Models.Data;
using TrainingService.Models.Training;

// trainingservice: trains locally, manages the service's API keys, and drives a running service's
// jobs. Exit codes: ExitCodes (README, "Command line").
var root = new RootCommand("TrainingService from the command line: train here, manage API keys, and submit, wait for and gate on a service's jobs.")
{
    TrainCommand.Create(),
    DataCommands.Download(),
    DataCommands.Architectures(),
    KeysCommands.Create(),
    JobsCommands.Create(),
};

var parse = root.Parse(args);
if (parse.Errors.Count > 0)
{
    foreach (var error in parse.Errors)
        Console.Error.WriteLine(error.Message);
    Console.Error.WriteLine("Run with --help for usage.");
    return ExitCodes.Usage;
}
try
{
    // Exceptions come here, to get their exit codes, rather than to the library's generic handler.
    return await parse.InvokeAsync(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
}
catch (UsageException e)
{
    Console.Error.WriteLine(e.Message);
    return ExitCodes.Usage;
}
catch (OperationCanceledException)
{
    Console.Error.WriteLine("Stopped. For train: run the same command with the same --run-dir to resume from the last checkpoint.");
    return ExitCodes.Interrupted;
}
catch (System.Data.Common.DbException e)
{
    // keys: the store is unreachable or refuses; the message names the cause, never the connection string.
    Console.Error.WriteLine($"error: the job store cannot be used: {e.Message}");
    return ExitCodes.JobFailed;
}
catch (Exception e) when (e is TrainingException or DatasetFileException or CheckpointException)
{
    Console.Error.WriteLine($"error: {e.Message}");
    return ExitCodes.JobFailed;
}
