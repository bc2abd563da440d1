using System.Runtime.InteropServices;

namespace TrainingService.Worker;

/// <summary>
/// Turns the low-level exceptions of a failed attempt into messages that say what went wrong in
/// the job's terms: a full or read-only checkpoint volume rather than a bare errno, and libtorch's
/// allocation failures recognised as running out of memory.
/// </summary>
public static class InfrastructureFailures
{
    // Linux errno values, which .NET puts in IOException.HResult for errors it has no type for.
    private const int NoSpaceLeft = 28;   // ENOSPC
    private const int ReadOnlyFileSystem = 30; // EROFS
    private const int QuotaExceeded = 122;     // EDQUOT

    public static string Describe(Exception e, string checkpointRoot)
    {
        foreach (var inner in Chain(e))
        {
            if (inner is IOException io)
            {
                if (io.HResult is NoSpaceLeft or QuotaExceeded || io.Message.Contains("No space left on device", StringComparison.OrdinalIgnoreCase))
                    return $"The checkpoint volume ({Path.GetFullPath(checkpointRoot)}) is full ({io.Message}). " +
                        "Free space there or point Checkpoints:Root at a larger volume; earlier checkpoints are intact.";
                if (io.HResult == ReadOnlyFileSystem || io.Message.Contains("Read-only file system", StringComparison.OrdinalIgnoreCase))
                    return $"The checkpoint volume ({Path.GetFullPath(checkpointRoot)}) is read-only ({io.Message}). " +
                        "Mount it writable; earlier checkpoints are intact.";
            }
            if (inner is UnauthorizedAccessException denied)
                return $"The checkpoint volume ({Path.GetFullPath(checkpointRoot)}) is not writable by the worker: {denied.Message}";
        }
        return e.Message;
    }

    /// <summary>libtorch reports a failed allocation (CPU or CUDA) as an ExternalException with one of these phrases.</summary>
    public static bool IsOutOfMemory(Exception e) =>
        Chain(e).Any(inner => inner is ExternalException or OutOfMemoryException
            && (inner is OutOfMemoryException
                || inner.Message.Contains("out of memory", StringComparison.OrdinalIgnoreCase)
                || inner.Message.Contains("can't allocate memory", StringComparison.OrdinalIgnoreCase)));

    private static IEnumerable<Exception> Chain(Exception e)
    {
        for (Exception? current = e; current is not null; current = current.InnerException)
            yield return current;
    }
}
