namespace TrainingService.Cli;

/// <summary>What <c>trainingservice</c> exits with; README, "Command line", lists them for CI scripts.</summary>
internal static class ExitCodes
{
    /// <summary>Done; for <c>jobs … --wait</c>: the job succeeded and every expectation held.</summary>
    public const int Ok = 0;

    /// <summary>The job failed or was cancelled (or a local command failed).</summary>
    public const int JobFailed = 1;

    /// <summary>The command line is wrong.</summary>
    public const int Usage = 2;

    /// <summary>The job succeeded but its figures missed its expectations (<c>--expect</c>).</summary>
    public const int ExpectationsMissed = 3;

    /// <summary>The wait (<c>--timeout</c>) ran out before the job ended.</summary>
    public const int WaitTimedOut = 4;

    /// <summary>The service refused the request or could not be reached.</summary>
    public const int ServiceError = 5;

    /// <summary>Interrupted (Ctrl+C).</summary>
    public const int Interrupted = 130;
}

/// <summary>A usage error found after parsing (a value the parser could not check): exit code 2.</summary>
internal sealed class UsageException(string message) : Exception(message);
