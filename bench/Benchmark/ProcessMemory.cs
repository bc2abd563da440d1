namespace TrainingService.Benchmark;

/// <summary>Resident-set figures from /proc, including a resettable peak (VmHWM).</summary>
internal static class ProcessMemory
{
    public static double CurrentMB => ReadStatusKilobytes("VmRSS") / 1024.0;

    public static double PeakMB => ReadStatusKilobytes("VmHWM") / 1024.0;

    /// <summary>Starts a new peak measurement: writing 5 to clear_refs resets VmHWM to the current RSS (Linux ≥ 4.0).</summary>
    public static void ResetPeak()
    {
        try { File.WriteAllText("/proc/self/clear_refs", "5"); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { /* peak then covers the whole process */ }
    }

    private static long ReadStatusKilobytes(string field)
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
            if (line.StartsWith(field + ":", StringComparison.Ordinal))
                return long.Parse(line.AsSpan(field.Length + 1).Trim().TrimEnd("kB").Trim());
        return (long)(Environment.WorkingSet / 1024);
    }
}
