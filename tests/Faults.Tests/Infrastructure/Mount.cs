using System.Diagnostics;

namespace TrainingService.Faults.Tests.Infrastructure;

/// <summary>
/// Real volumes for the tests that fill or remount one: a size-limited tmpfs of the test's own
/// (mount needs root), filled with a file until the kernel answers ENOSPC.
/// </summary>
internal static class Mount
{
    public static bool IsRoot() => Environment.GetEnvironmentVariable("USER") == "root" || File.ReadAllText("/proc/self/status").Contains("Uid:\t0\t");

    public static async Task RunAsync(string program, params string[] arguments)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        using var process = Process.Start(start)!;
        var error = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.True(process.ExitCode == 0, $"{program} {string.Join(' ', arguments)} failed ({process.ExitCode}): {error}");
    }

    /// <summary>Writes <paramref name="file"/> until the volume has no space left, as a runaway neighbour would.</summary>
    public static async Task FillAsync(string file)
    {
        var chunk = new byte[1 << 20];
        // Unbuffered, so the failure surfaces on a write here and not again when the stream is closed.
        await using var filler = new FileStream(file, FileMode.Create, FileAccess.Write, FileShare.None, bufferSize: 0);
        try
        {
            while (true) await filler.WriteAsync(chunk);
        }
        catch (IOException)
        {
            // ENOSPC: the volume is full.
        }
    }
}
