using System.Globalization;
using SkiaSharp;
using TrainingService.Contracts.Training;

namespace TrainingService.Api.Exports;

/// <summary>
/// Draws a job's learning curves as a PNG: loss (left) and accuracy (right) per epoch, train and
/// test in each, with axes, ticks and a legend. Drawn with SkiaSharp, the version TorchSharp brings.
/// </summary>
public static class LearningCurvePlot
{
    public const int Width = 1000;
    public const int Height = 420;

    public static readonly SKColor TrainColor = new(0x1f, 0x77, 0xb4); // blue
    public static readonly SKColor TestColor = new(0xd6, 0x27, 0x28);  // red

    private const float Margin = 56, PanelGap = 70, TitleHeight = 34;

    public static byte[] Render(string title, IReadOnlyList<EpochMetrics> epochs)
    {
        using var surface = SKSurface.Create(new SKImageInfo(Width, Height, SKColorType.Rgba8888, SKAlphaType.Premul));
        var canvas = surface.Canvas;
        canvas.Clear(SKColors.White);
        using var text = new SKPaint { Color = SKColors.Black, TextSize = 15, IsAntialias = true };
        canvas.DrawText(title, Margin, 22, text);

        var panelWidth = (Width - 2 * Margin - PanelGap) / 2;
        var top = TitleHeight + 20;
        var bottom = Height - Margin;
        var loss = new SKRect(Margin, top, Margin + panelWidth, bottom);
        var accuracy = new SKRect(loss.Right + PanelGap, top, loss.Right + PanelGap + panelWidth, bottom);

        if (epochs.Count == 0)
        {
            canvas.DrawText("No epochs recorded yet.", Margin, Height / 2f, text);
        }
        else
        {
            var finite = (IEnumerable<double> values) => values.Where(double.IsFinite).DefaultIfEmpty(0);
            var losses = finite(epochs.SelectMany(e => new[] { e.TrainLoss, e.TestLoss })).ToList();
            Panel(canvas, loss, "loss", epochs, 0, Math.Max(losses.Max() * 1.05, 1e-6), e => e.TrainLoss, e => e.TestLoss);
            var accuracies = finite(epochs.SelectMany(e => new[] { e.TrainAccuracy, e.TestAccuracy })).ToList();
            var low = Math.Floor(Math.Min(accuracies.Min(), 0.999) * 20) / 20; // down to a multiple of 5 %
            Panel(canvas, accuracy, "accuracy", epochs, low, 1, e => e.TrainAccuracy, e => e.TestAccuracy);
        }

        using var image = surface.Snapshot();
        using var png = image.Encode(SKEncodedImageFormat.Png, 100);
        return png.ToArray();
    }

    private static void Panel(SKCanvas canvas, SKRect area, string name, IReadOnlyList<EpochMetrics> epochs,
        double yMin, double yMax, Func<EpochMetrics, double> train, Func<EpochMetrics, double> test)
    {
        using var axis = new SKPaint { Color = SKColors.Black, StrokeWidth = 1, IsAntialias = true, Style = SKPaintStyle.Stroke };
        using var grid = new SKPaint { Color = new SKColor(0xe0, 0xe0, 0xe0), StrokeWidth = 1, Style = SKPaintStyle.Stroke };
        using var label = new SKPaint { Color = SKColors.Black, TextSize = 12, IsAntialias = true };
        var lastEpoch = epochs[^1].Epoch;
        var firstEpoch = epochs[0].Epoch;
        var xSpan = Math.Max(lastEpoch - firstEpoch, 1);
        float X(double epoch) => area.Left + (float)((epoch - firstEpoch) / xSpan) * area.Width;
        float Y(double value) => area.Bottom - (float)((Math.Clamp(value, yMin, yMax) - yMin) / (yMax - yMin)) * area.Height;

        // Five horizontal grid lines with their values; epoch ticks at up to ten whole epochs.
        for (var i = 0; i <= 4; i++)
        {
            var value = yMin + (yMax - yMin) * i / 4;
            var y = Y(value);
            canvas.DrawLine(area.Left, y, area.Right, y, grid);
            canvas.DrawText(value.ToString(value >= 10 ? "F0" : "0.###", CultureInfo.InvariantCulture), area.Left - 44, y + 4, label);
        }
        var step = Math.Max(1, (int)Math.Ceiling(xSpan / 10.0));
        for (var epoch = firstEpoch; epoch <= lastEpoch; epoch += step)
            canvas.DrawText(epoch.ToString(CultureInfo.InvariantCulture), X(epoch) - 4, area.Bottom + 16, label);
        canvas.DrawRect(area, axis);
        canvas.DrawText($"{name} per epoch", area.Left, area.Top - 8, label);

        Series(canvas, epochs, e => X(e.Epoch), e => Y(train(e)), e => double.IsFinite(train(e)), TrainColor);
        Series(canvas, epochs, e => X(e.Epoch), e => Y(test(e)), e => double.IsFinite(test(e)), TestColor);

        // Legend, top right inside the panel.
        Legend(canvas, area.Right - 70, area.Top + 14, "train", TrainColor);
        Legend(canvas, area.Right - 70, area.Top + 30, "test", TestColor);
    }

    private static void Series(SKCanvas canvas, IReadOnlyList<EpochMetrics> epochs, Func<EpochMetrics, float> x, Func<EpochMetrics, float> y,
        Func<EpochMetrics, bool> present, SKColor color)
    {
        using var line = new SKPaint { Color = color, StrokeWidth = 2.5f, IsAntialias = true, Style = SKPaintStyle.Stroke };
        using var dot = new SKPaint { Color = color, IsAntialias = true, Style = SKPaintStyle.Fill };
        using var path = new SKPath();
        var started = false;
        foreach (var e in epochs.Where(present))
        {
            if (started) path.LineTo(x(e), y(e));
            else path.MoveTo(x(e), y(e));
            started = true;
            canvas.DrawCircle(x(e), y(e), 3.5f, dot);
        }
        canvas.DrawPath(path, line);
    }

    private static void Legend(SKCanvas canvas, float x, float y, string name, SKColor color)
    {
        using var swatch = new SKPaint { Color = color, StrokeWidth = 3, IsAntialias = true };
        using var label = new SKPaint { Color = SKColors.Black, TextSize = 12, IsAntialias = true };
        canvas.DrawLine(x, y - 4, x + 18, y - 4, swatch);
        canvas.DrawText(name, x + 24, y, label);
    }
}
