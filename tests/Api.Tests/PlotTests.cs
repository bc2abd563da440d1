using System.Net;
using SkiaSharp;
using TrainingService.Api.Exports;
using TrainingService.Api.Tests.Infrastructure;

namespace TrainingService.Api.Tests;

public abstract partial class ApiContractTests
{
    private static int PixelsNear(SKBitmap image, SKColor color) =>
        Enumerable.Range(0, image.Height).Sum(y => Enumerable.Range(0, image.Width).Count(x =>
        {
            var p = image.GetPixel(x, y);
            return Math.Abs(p.Red - color.Red) < 12 && Math.Abs(p.Green - color.Green) < 12 && Math.Abs(p.Blue - color.Blue) < 12;
        }));

    private async Task<SKBitmap> GetPlotAsync(Guid id)
    {
        var response = await Client.GetAsync($"/jobs/{id}/plot.png");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("image/png", response.Content.Headers.ContentType!.MediaType);
        var bytes = await response.Content.ReadAsByteArrayAsync();
        Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], bytes[..4]);
        return SKBitmap.Decode(bytes);
    }

    [Fact]
    public async Task A_jobs_plot_is_a_png_of_its_train_and_test_curves_that_grows_with_its_epochs()
    {
        var job = await CreateTrainJobAsync();
        using var empty = await GetPlotAsync(job);
        Assert.Equal(LearningCurvePlot.Width, empty.Width);
        Assert.Equal(LearningCurvePlot.Height, empty.Height);
        Assert.Equal(0, PixelsNear(empty, LearningCurvePlot.TrainColor));
        Assert.Equal(0, PixelsNear(empty, LearningCurvePlot.TestColor));

        var lease = await Driver.StartAsync(job);
        await Driver.RecordEpochAsync(job, lease, 1);
        using var one = await GetPlotAsync(job);
        await Driver.RecordEpochAsync(job, lease, 2);
        await Driver.RecordEpochAsync(job, lease, 3);
        using var three = await GetPlotAsync(job);

        // Both series are drawn, and three epochs draw more line than one point each.
        Assert.True(PixelsNear(one, LearningCurvePlot.TrainColor) > 0);
        Assert.True(PixelsNear(one, LearningCurvePlot.TestColor) > 0);
        Assert.True(PixelsNear(three, LearningCurvePlot.TrainColor) > PixelsNear(one, LearningCurvePlot.TrainColor));
        Assert.True(PixelsNear(three, LearningCurvePlot.TestColor) > PixelsNear(one, LearningCurvePlot.TestColor));
    }

    [Fact]
    public async Task The_plot_of_an_unknown_job_is_a_404_problem()
    {
        await (await Client.GetAsync($"/jobs/{Guid.NewGuid()}/plot.png")).AssertProblemAsync(HttpStatusCode.NotFound);
        await (await Client.GetAsync("/jobs/not-an-id/plot.png")).AssertProblemAsync(HttpStatusCode.NotFound);
    }
}
