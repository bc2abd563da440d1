namespace TrainingService.Models.Data;

/// <summary>
/// A dataset's file is missing, malformed, or not the content it should be. The message starts
/// with the file's name so that it can be shown to a user as is; <see cref="FilePath"/> has the full path.
/// </summary>
public sealed class DatasetFileException : Exception
{
    public DatasetFileException(string filePath, string problem, Exception? innerException = null)
        : base($"{Path.GetFileName(filePath)}: {problem}", innerException)
    {
        FilePath = filePath;
        Problem = problem;
    }

    /// <summary>Path of the file the problem is about.</summary>
    public string FilePath { get; }

    /// <summary>The problem alone, without the file name (for composing larger messages).</summary>
    public string Problem { get; }
}
