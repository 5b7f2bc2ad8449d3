"""Cards of DRAW (Gregor et al. 2015), with and without attention."""

from zoo.registry import InputContract, register

PAPER = ("Gregor, Danihelka, Graves, Rezende, Wierstra, DRAW: A Recurrent Neural Network For Image Generation "
         "(ICML 2015, arXiv:1502.04623v2)")


def _contract(steps, z_dim):
    image = InputContract(shape=(28, 28, 1), kind="image", channel_order=None, mean=None, name="image",
                          note="binary pixels in {0, 1}")
    noise = InputContract(shape=(steps, z_dim), kind="vector", channel_order=None, mean=None, name="noise",
                          sources=("noise",), note="ε of z_t = μ_t + σ_t ε_t when not training")
    return InputContract(shape=(28, 28, 1), kind="image", channel_order=None, mean=None, streams=(image, noise),
                         note="binarized image and the posterior noise")


_NLL = "binarized MNIST test negative log-likelihood bound, nats (Table 2)"

register(
    "draw", builder="zoo.models.draw.draw:draw", family="draw", paper=PAPER,
    section="§2 (eqs. 3-12), §3.2 (eqs. 19-29), Table 2, Table 3", task="variational_generation",
    input_contract=_contract(64, 100),
    paper_numbers={_NLL: 80.97, "glimpses (Table 3, MNIST)": 64, "LSTM units": 256, "z size": 100,
                   "read size": "2x2", "write size": "5x5"},
    # encoder LSTM (2·2² + 256 in) 533,504; decoder LSTM (100 in) 365,568; μ, log σ 51,400; write 5x5 6,425;
    # read and write windows (5 each) 2,570
    parameters={"total": 959_467},
)

register(
    "draw_no_attention", builder="zoo.models.draw.draw:draw_no_attention", family="draw", paper=PAPER,
    section="§3.1 (eqs. 17-18), Table 2", task="variational_generation", input_contract=_contract(64, 100),
    paper_numbers={f"{_NLL}, DRAW without attention": 87.40},
    # encoder LSTM (2·784 + 256 in) 2,130,944; decoder 365,568; μ, log σ 51,400; write 784 201,488
    parameters={"total": 2_749_400},
)

register(
    "draw_classifier", builder="zoo.models.draw.classifier:draw_classifier", family="draw", paper=PAPER,
    section="§4.1 (Differentiable RAM on 100x100 cluttered translated MNIST), Table 1, Table 3 (first row)",
    task="classification",
    input_contract=InputContract(shape=(100, 100, 1), kind="image", channel_order=None, mean=(0.0,), std=(255.0,),
                                 note="grey pixels / 255, the digit placed at random among clutter"),
    paper_numbers={"glimpses (Table 3)": 8, "LSTM units (Table 3)": 256, "read size (Table 3)": "12x12"},
    # LSTM (12·12 in, 256) 410,624; read window 1,285; classifier 2,570
    parameters={"total": 414_479},
)
