using System.CommandLine;
using TrainingService.Contracts.Architectures;

namespace TrainingService.Cli.Commands;

/// <summary><c>trainingservice download</c> and <c>trainingservice architectures</c>.</summary>
internal static class DataCommands
{
    public static Command Download()
    {
        var data = new Option<string>("--data") { Description = $"where to put MNIST (default ${TrainCommand.DataDirectoryVariable} or ./data/mnist)" };
        var command = new Command("download", "Fetch MNIST's four files (checked against their MD5s) into a folder.") { data };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var directory = parse.GetValue(data) ?? TrainCommand.DefaultDataDirectory;
            await TrainCommand.EnsureDataAsync(directory, cancellationToken);
            Console.Error.WriteLine($"MNIST is complete in {Path.GetFullPath(directory)}");
            return ExitCodes.Ok;
        });
        return command;
    }

    public static Command Architectures()
    {
        var command = new Command("architectures", "List the architectures and their parameter counts.");
        command.SetAction(_ =>
        {
            foreach (var a in ArchitectureCatalog.All)
                Console.WriteLine($"{a.Name,-10} {a.ParameterCount,11:N0} parameters  {a.Description}");
            return ExitCodes.Ok;
        });
        return command;
    }
}
