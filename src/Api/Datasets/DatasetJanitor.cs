using TrainingService.Contracts.Datasets;

namespace TrainingService.Api.Datasets;

/// <summary>
/// Removes what an API process that died mid-upload or mid-delete left on the dataset volume
/// (<see cref="DatasetVolume.RemoveLeftoversAsync"/>): at start and then hourly, only folders older
/// than an hour, so uploads in progress in any process are left alone.
/// </summary>
public sealed class DatasetJanitor(DatasetVolume volume, IDatasetStore store, TimeProvider time, ILogger<DatasetJanitor> logger) : BackgroundService
{
    private static readonly TimeSpan Interval = TimeSpan.FromHours(1);
    private static readonly TimeSpan MinimumAge = TimeSpan.FromHours(1);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                foreach (var folder in await volume.RemoveLeftoversAsync(store, MinimumAge, stoppingToken))
                    logger.LogInformation("Removed {Folder}, left on the dataset volume by an upload or delete that did not finish", folder);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // The database or the volume being away is no reason to stop the API; the next pass tries again.
                logger.LogWarning(e, "Cleaning up the dataset volume failed; trying again in {Interval}", Interval);
            }
            try { await Task.Delay(Interval, time, stoppingToken); }
            catch (OperationCanceledException) { return; }
        }
    }
}
