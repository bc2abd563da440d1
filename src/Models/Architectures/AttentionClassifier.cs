using TorchSharp;
using TorchSharp.Modules;
using TrainingService.Contracts.Training;
using TrainingService.Models.Training;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace TrainingService.Models.Architectures;

/// <summary>
/// The notebook's <c>SingleHeadSelfAttention</c> with its forward completed: Q, K, V are linear
/// maps of the input, scores = Q·Kᵀ / √embed_dim, softmax over the last dimension, output =
/// weights · V. Input and output are [batch, seq, embed].
/// </summary>
public sealed class SingleHeadSelfAttention : Module<Tensor, Tensor>
{
    private readonly long embedDim;
    private readonly Linear query;
    private readonly Linear key;
    private readonly Linear value;
    private readonly Softmax softmax;

    public SingleHeadSelfAttention(long embedDim) : base(nameof(SingleHeadSelfAttention))
    {
        this.embedDim = embedDim;
        query = Linear(embedDim, embedDim);
        key = Linear(embedDim, embedDim);
        value = Linear(embedDim, embedDim);
        softmax = Softmax(dim: -1);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var q = query.call(x);
        var k = key.call(x);
        var v = value.call(x);
        var scores = bmm(q, k.transpose(1, 2)) / Math.Sqrt(embedDim);
        var attentionWeights = softmax.call(scores);
        return bmm(attentionWeights, v).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// A small image classifier built around the notebook's attention module. The 28×28 image is cut
/// into 16 patches of 7×7 pixels; each patch (49 values) is embedded linearly to
/// <see cref="EmbedDim"/> and given a learned position. One pre-norm transformer block follows —
/// x + attention(LayerNorm(x)), then x + MLP(LayerNorm(x)) with a 4× GELU MLP — then a final
/// LayerNorm, mean pooling over the 16 tokens and a linear head to 10 classes.
/// State-dict keys: <c>patch_embed.*</c>, <c>pos_embed</c>, <c>norm1.*</c>, <c>attention.query.*</c>,
/// <c>attention.key.*</c>, <c>attention.value.*</c>, <c>norm2.*</c>, <c>mlp.0.*</c>, <c>mlp.2.*</c>,
/// <c>norm.*</c>, <c>head.*</c>.
/// The three norms (<c>norm1</c>, <c>norm2</c>, <c>norm</c>) are LayerNorm by default; the
/// normalization hyperparameter swaps all three for BatchNorm over batch × tokens per channel
/// (<see cref="TokenBatchNorm"/>), per-token GroupNorm (<see cref="TokenGroupNorm"/>) or Identity.
/// </summary>
public sealed class AttentionClassifier : Module<Tensor, Tensor>
{
    public const int EmbedDim = 128;
    public const int PatchSize = 7;
    public const int Tokens = 28 / PatchSize * (28 / PatchSize);

    private readonly Linear patch_embed;
    private readonly Parameter pos_embed;
    private readonly Module<Tensor, Tensor> norm1;
    private readonly SingleHeadSelfAttention attention;
    private readonly Module<Tensor, Tensor> norm2;
    private readonly Sequential mlp;
    private readonly Module<Tensor, Tensor> norm;
    private readonly Linear head;

    public AttentionClassifier(int numClasses = 10, NormalizationKind normalization = NormalizationKind.Layer)
        : base(nameof(AttentionClassifier))
    {
        patch_embed = Linear(PatchSize * PatchSize, EmbedDim);
        // Small random positions, as ViT initialises them: zeros would make all tokens start alike.
        pos_embed = Parameter(randn(1, Tokens, EmbedDim) * 0.02);
        norm1 = NormalizationLayers.ForTokens(normalization, EmbedDim);
        attention = new SingleHeadSelfAttention(EmbedDim);
        norm2 = NormalizationLayers.ForTokens(normalization, EmbedDim);
        mlp = Sequential(Linear(EmbedDim, 4 * EmbedDim), GELU(), Linear(4 * EmbedDim, EmbedDim));
        norm = NormalizationLayers.ForTokens(normalization, EmbedDim);
        head = Linear(EmbedDim, numClasses);
        RegisterComponents();
    }

    public override Tensor forward(Tensor images)
    {
        using var scope = NewDisposeScope();
        var batch = images.shape[0];
        // [B, 1, 28, 28] → [B, 4, 7, 4, 7] → [B, 4, 4, 7, 7] → [B, 16, 49]: row-major patches.
        var patches = images
            .reshape(batch, 28 / PatchSize, PatchSize, 28 / PatchSize, PatchSize)
            .permute(0, 1, 3, 2, 4)
            .reshape(batch, Tokens, PatchSize * PatchSize);
        var x = patch_embed.call(patches) + pos_embed;
        x = x + attention.call(norm1.call(x));
        x = x + mlp.call(norm2.call(x));
        x = norm.call(x).mean([1]);
        return head.call(x).MoveToOuterDisposeScope();
    }
}
