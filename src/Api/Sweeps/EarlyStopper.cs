using TrainingService.Contracts;

namespace TrainingService.Api.Sweeps;

/// <summary>
/// Applies a sweep's early-stopping rule (<see cref="StoppingRules"/>) in each scheduler pass: every
/// trial that has recorded an epoch the rule judges, and was not judged there yet, is judged — in the
/// order the trials recorded those epochs, as if each had reported then — against the values the
/// others recorded there before it. Each decision is stored once (<see cref="ISweepStore.TryRecordDecisionAsync"/>):
/// with several API processes the first to store it decides, and the others read it. A trial the rule
/// stops is cancelled with <see cref="TerminationReason.StoppedBySearch"/>: it stops at its next step
/// boundary and keeps its checkpoints and metrics.
/// </summary>
/// <remarks>
/// The rule judges a trial by its record of the judged epoch, so a trial the pass sees late (a pass runs
/// every <c>JobsApi:SweepSchedulerInterval</c>, and the worker looks for a cancel every
/// <c>Worker:CancellationPollInterval</c>) is judged by the same value, only stopped a little further on.
/// A trial that ended before its decision could be applied keeps its decision in the history; a
/// non-finite value (a diverged trial, which fails on its own) is not judged.
/// </remarks>
public sealed class EarlyStopper(ISweepStore sweeps, IJobStore store, IEpochStore epochStore, TimeProvider time, ILogger<EarlyStopper> logger)
{
    /// <summary>Judges what the sweep's trials have recorded since the last pass and stops those the rule stops; returns how many it stopped.</summary>
    public async Task<int> JudgeAsync(SweepRecord sweep, IReadOnlyList<SweepJob> jobs, CancellationToken cancellationToken)
    {
        if (sweep.Search.EarlyStopping is not { } rule || sweep.CancelRequested)
            return 0;
        var decisions = (await sweeps.GetDecisionsAsync(sweep.Id, cancellationToken)).ToList();
        foreach (var arrival in await ArrivalsAsync(rule, jobs, decisions, cancellationToken))
        {
            // A trial stopped at an earlier rung (this pass or another's) is judged no further.
            if (decisions.Any(d => d.Point == arrival.Point && (d.Stop || d.Epoch == arrival.Epoch)))
                continue;
            var others = decisions.Where(d => d.Epoch == arrival.Epoch && d.Point != arrival.Point).Select(d => StoppingRules.Score(rule, d.Value)).ToList();
            var cutoff = StoppingRules.Cutoff(rule, others);
            var score = StoppingRules.Score(rule, arrival.Value);
            var decision = new SweepDecision(arrival.Point, arrival.JobId, arrival.Epoch, arrival.Value,
                cutoff is { } c ? StoppingRules.Score(rule, c) : null, others.Count, Stop: score < cutoff, time.GetUtcNow());
            if (await sweeps.TryRecordDecisionAsync(sweep.Id, decision, cancellationToken))
                decisions.Add(decision);
            else
                // Another process judged it first: its decision, and any it made since, stand.
                decisions = [.. await sweeps.GetDecisionsAsync(sweep.Id, cancellationToken)];
        }
        return await ApplyStopsAsync(sweep, rule, jobs, decisions, cancellationToken);
    }

    private sealed record Arrival(int Point, Guid JobId, int Epoch, double Value, DateTimeOffset RecordedAt);

    /// <summary>The judged epochs the trials have recorded and that have no decision yet, in the order they were recorded.</summary>
    private async Task<List<Arrival>> ArrivalsAsync(
        EarlyStoppingRule rule, IReadOnlyList<SweepJob> jobs, IReadOnlyList<SweepDecision> decisions, CancellationToken cancellationToken)
    {
        var arrivals = new List<Arrival>();
        foreach (var (point, job) in jobs)
        {
            // A trial that ended recorded no epoch past the one its last progress reports (drained as its
            // attempt ended), so an ended trial is read only for epochs it may have recorded unjudged. A
            // running one's progress may lag its last epoch by a write, so it is read whenever it has any.
            var reached = job.Status.IsTerminal() ? job.Progress?.Epoch ?? 0 : int.MaxValue;
            var pending = StoppingRules.JudgedEpochs(rule, job.Hyperparameters.Epochs)
                .Where(e => e <= reached && !decisions.Any(d => d.Point == point && d.Epoch == e))
                .ToHashSet();
            if (pending.Count == 0 || decisions.Any(d => d.Point == point && d.Stop))
                continue;
            foreach (var record in await epochStore.GetEpochsAsync(job.Id, 0, cancellationToken))
            {
                var value = rule.ValueOf(record.Metrics);
                if (pending.Contains(record.Metrics.Epoch) && double.IsFinite(value))
                    arrivals.Add(new Arrival(point, job.Id, record.Metrics.Epoch, value, record.RecordedAt));
            }
        }
        return [.. arrivals.OrderBy(a => a.RecordedAt).ThenBy(a => a.Point)];
    }

    /// <summary>
    /// Cancels, as stopped by the search, every trial with a stop decision whose job has not ended or
    /// been asked to: idempotent, so a process that stored a decision and died before applying it is
    /// made good by the next pass of any process.
    /// </summary>
    private async Task<int> ApplyStopsAsync(
        SweepRecord sweep, EarlyStoppingRule rule, IReadOnlyList<SweepJob> jobs, IReadOnlyList<SweepDecision> decisions, CancellationToken cancellationToken)
    {
        var stopped = 0;
        foreach (var decision in decisions.Where(d => d.Stop))
        {
            var job = jobs.FirstOrDefault(j => j.Point == decision.Point)?.Job;
            if (job is null || job.Status.IsTerminal() || job.CancelRequested)
                continue;
            var outcome = await store.RequestCancelAsync(job.Id, TerminationReason.StoppedBySearch, time.GetUtcNow(), cancellationToken);
            if (outcome is not (CancelOutcome.CancellationRequested or CancelOutcome.CancelledBeforeStart))
                continue;
            stopped++;
            logger.LogInformation(
                "Sweep {SweepId} stops trial {Point} (job {JobId}): {Rule} {Metric} {Value} at epoch {Epoch} is worse than the cutoff {Cutoff} over {Compared} other trials",
                sweep.Id, decision.Point, job.Id, rule.Rule, rule.Metric, decision.Value, decision.Epoch, decision.Cutoff, decision.Compared);
        }
        return stopped;
    }
}
