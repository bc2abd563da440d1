using System.Text.Json;
using System.Text.Json.Nodes;
using TrainingService.Tests.Shared;

namespace TrainingService.Faults.Tests.Infrastructure;

/// <summary>
/// The figures a fault test reports, measured from the records the API serves: each job's status
/// and attempts, and its epochs as <see cref="EpochInvariants"/> reads them — who trained each, with
/// how many optimizer steps, and whether another attempt's write of it was kept as a conflict. Printed
/// as one machine-readable line, <c>FAULT-FIGURES {json}</c>, that scripts/fault-figures.sh turns
/// into docs/reliability.md's table: nothing there is typed in by hand.
/// </summary>
internal static class FaultFigures
{
    /// <summary>A job's epoch records from <c>GET /jobs/{id}/metrics</c>, strictly: a field missing from the answer fails the read, so the check cannot pass by not looking.</summary>
    public static IReadOnlyList<EpochLedger> Ledger(JsonArray metrics) =>
        [.. metrics.Select(m =>
        {
            var training = m!["training"];
            return new EpochLedger(
                (int)m["epoch"]!,
                training is null ? null : (int)training["attempt"]!,
                training is null ? 0 : (int)training["resumedFromStep"]!,
                training is null ? 0 : (int)training["stepsRun"]!,
                training is null ? [] : [.. training["earlierAttempts"]!.AsArray().Select(a => ((int)a!["attempt"]!, (int)a["steps"]!))],
                m["conflicts"]!.AsArray().Count);
        })];

    /// <summary>ceil(training images / batch size), from the job's effective hyperparameters (all 60,000 images when no subset is set).</summary>
    public static int StepsPerEpoch(JsonObject job)
    {
        var hyperparameters = job["hyperparameters"]!;
        var images = Math.Min((int?)hyperparameters["trainSubset"] ?? 60_000, 60_000);
        var batch = (int)hyperparameters["batchSize"]!;
        return (images + batch - 1) / batch;
    }

    /// <summary>One job's share of the figures, and what is wrong with its epochs.</summary>
    public sealed record JobFigures(bool Lost, int Attempts, int EpochsRecorded, int EpochsMissing, int EpochsTrainedTwice, int EpochsResumedMidEpoch, long StepsCounted, IReadOnlyList<string> Violations);

    /// <param name="jobEnds">Whether the job must have ended; otherwise only one left "running" counts as lost (the reaper's case).</param>
    public static JobFigures Measure(JsonObject job, JsonArray metrics, int expectedEpochs, bool jobEnds)
    {
        var ledger = Ledger(metrics);
        var steps = StepsPerEpoch(job);
        var status = (string)job["status"]!;
        var trainedTwice = ledger.Count(e => e.Conflicts > 0 || (e.Attempt is not null && e.TotalSteps != steps))
            + ledger.GroupBy(e => e.Epoch).Sum(g => g.Count() - 1);
        return new JobFigures(
            Lost: jobEnds ? status is not ("succeeded" or "failed" or "cancelled") : status == "running",
            Attempts: (int)job["attempt"]!,
            EpochsRecorded: ledger.Count,
            EpochsMissing: Enumerable.Range(1, expectedEpochs).Count(n => ledger.All(e => e.Epoch != n)),
            EpochsTrainedTwice: trainedTwice,
            EpochsResumedMidEpoch: ledger.Count(e => e.ResumedFromStep > 0),
            StepsCounted: ledger.Sum(e => (long)e.TotalSteps),
            Violations: EpochInvariants.Violations(ledger, expectedEpochs, steps, (int)job["attempt"]!));
    }

    /// <summary>The FAULT-FIGURES line: the figures every fault has, then the test's own under <c>details</c>.</summary>
    public static string Line(string fault, IReadOnlyList<JobFigures> jobs, IDictionary<string, object>? details)
    {
        var violations = jobs.Sum(j => j.Violations.Count);
        var figures = new Dictionary<string, object>
        {
            ["fault"] = fault,
            ["survived"] = jobs.All(j => !j.Lost) && violations == 0,
            ["jobs"] = jobs.Count,
            ["jobsLost"] = jobs.Count(j => j.Lost),
            ["attempts"] = jobs.Sum(j => j.Attempts),
            ["epochsRecorded"] = jobs.Sum(j => j.EpochsRecorded),
            ["epochsMissing"] = jobs.Sum(j => j.EpochsMissing),
            ["epochsTrainedTwice"] = jobs.Sum(j => j.EpochsTrainedTwice),
            ["epochsResumedMidEpoch"] = jobs.Sum(j => j.EpochsResumedMidEpoch),
            ["stepsCounted"] = jobs.Sum(j => j.StepsCounted),
            ["details"] = details ?? new Dictionary<string, object>(),
        };
        return "FAULT-FIGURES " + JsonSerializer.Serialize(figures);
    }
}
