using System.Globalization;

namespace TrainingService.ServiceBench.Infrastructure;

/// <summary>
/// The machine's load average (1, 5, 15 min) as <c>/proc/loadavg</c> gives it: printed beside each
/// figure, because on a shared machine a figure means little without the load it was measured under.
/// </summary>
internal static class MachineLoad
{
    public static string Describe()
    {
        try
        {
            var parts = File.ReadAllText("/proc/loadavg").Split(' ');
            return string.Join(' ', parts.Take(3));
        }
        catch (IOException)
        {
            return "unknown";
        }
        catch (UnauthorizedAccessException)
        {
            return "unknown";
        }
    }

    /// <summary>The 1-minute load average, or NaN where it cannot be read.</summary>
    public static double OneMinute() =>
        double.TryParse(Describe().Split(' ')[0], NumberStyles.Float, CultureInfo.InvariantCulture, out var load) ? load : double.NaN;
}
