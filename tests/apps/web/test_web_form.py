"""The Animate tab's widgets come from TransferOptions; unavailable options are shown greyed out
with their reason; job values are checked; errors use the page's labels."""

import pytest

pytest.importorskip("gradio",
                    reason="the web app needs Gradio: pip install -r requirements.txt")

from ppgan_app.apps.expression_transfer.options import TransferOptions
from ppgan_app.apps.web import form
from ppgan_app.errors import InputError


@pytest.fixture
def empty_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("PPGAN_APP_CACHE", str(tmp_path))
    return tmp_path


def test_every_widget_is_a_transfer_option_with_its_help_default_and_choices(empty_cache):
    import gradio as gr

    defaults = TransferOptions(relative=True, ratio=0.45, face_detector="dlib")
    with gr.Blocks():
        widgets = form.make_widgets(defaults, form.unavailable_options())
    assert list(widgets) == list(form.JOB_OPTIONS)
    fields = TransferOptions.__dataclass_fields__
    for name, widget in widgets.items():
        assert widget.info.startswith(fields[name].metadata["help"]), name
        assert widget.label == form.label(name)
    assert widgets["relative"].value is True and widgets["ratio"].value == 0.45
    assert widgets["face_detector"].value == "dlib"
    assert widgets["no_face_ok"].label == "Animate without a face"


def test_options_without_their_weights_are_shown_unavailable_with_the_reason(empty_cache):
    import gradio as gr

    unavailable = form.unavailable_options()
    assert "GPEN-512.pdparams" in unavailable["face_enhancement"]
    with gr.Blocks():
        widgets = form.make_widgets(TransferOptions(), unavailable)
    enhance = widgets["face_enhancement"]
    assert enhance.interactive is False and "GPEN-512.pdparams" in enhance.info
    offered = [c[0] for c in widgets["face_detector"].choices]
    assert "sfd" not in offered and "blazeface" not in offered and "yunet" in offered
    assert "s3fd_paddle.pdparams" in widgets["face_detector"].info
    # the weights in the cache: offered
    for name in ("s3fd_paddle.pdparams", "blazeface.pdparams", "anchors.npy"):
        (empty_cache / name).write_bytes(b"x")
    assert not any(k.startswith("face_detector") for k in form.unavailable_options())


def test_job_values_are_checked_and_coerced(empty_cache):
    unavailable = form.unavailable_options()
    options = form.job_options(TransferOptions(), {"relative": True, "batch_size": 2.0,
                                                    "best_frame": None}, unavailable)
    assert options.relative and options.batch_size == 2 and options.best_frame is None
    with pytest.raises(InputError, match="option weight_path cannot be set per job"):
        form.job_options(TransferOptions(), {"weight_path": "/etc/passwd"}, unavailable)
    with pytest.raises(InputError, match="--face_enhancement True cannot be used here"):
        form.job_options(TransferOptions(), {"face_enhancement": True}, unavailable)
    with pytest.raises(InputError, match="--face_detector sfd cannot be used here"):
        form.job_options(TransferOptions(), {"face_detector": "sfd"}, unavailable)
    with pytest.raises(InputError, match=r"--ratio must be in \(0, 2\]"):
        form.job_options(TransferOptions(), {"ratio": 7.0}, unavailable)


def test_messages_use_the_page_labels_and_the_users_file_names():
    message = ("error: no face found in the source image; try another --face_detector "
               "(yunet, ...), or --no_face_ok to animate the whole image; see --help")
    words = form.page_words(message, {"/tmp/ppgan-app-1-ab/gradio/x/me.png": "me.png"})
    assert "“Face detector”" in words and "“Animate without a face”" in words
    assert "--help" in words  # not an option: left alone
    assert form.page_words("cannot read /tmp/ppgan-app-1-ab/gradio/x/me.png: bad",
                           {"/tmp/ppgan-app-1-ab/gradio/x/me.png": "me.png"}) == \
        "cannot read me.png: bad"


def test_super_resolution_is_off_by_default_and_offered_with_its_weights(empty_cache):
    import gradio as gr

    weights = empty_cache / "my_pan.pdparams"
    weights.write_bytes(b"x")
    defaults = TransferOptions(super_resolution_weights=str(weights))
    unavailable = form.unavailable_options(defaults)
    assert "super_resolution" not in unavailable
    with gr.Blocks():
        widget = form.make_widgets(defaults, unavailable)["super_resolution"]
    assert widget.choices == [("off", ""), ("x2", "x2"), ("x4", "x4")] and widget.value == ""
    assert widget.label == "Super-resolution of the faces"
    assert form.job_options(defaults, {"super_resolution": ""}, unavailable).super_resolution is None
    assert form.job_options(defaults, {"super_resolution": "x4"}, unavailable).super_resolution == "x4"
    with pytest.raises(InputError, match="--super_resolution 'x3' is not one of: x2, x4"):
        form.job_options(defaults, {"super_resolution": "x3"}, unavailable)


def test_super_resolution_without_its_weights_is_shown_unavailable_with_the_reason(empty_cache):
    import gradio as gr

    unavailable = form.unavailable_options(TransferOptions())  # RealSR's, not downloaded
    reason = unavailable["super_resolution"]
    assert "DF2K_JPEG.pdparams" in reason and str(empty_cache) in reason
    assert "Super-resolution section" in reason
    with gr.Blocks():
        widget = form.make_widgets(TransferOptions(), unavailable)["super_resolution"]
    assert widget.interactive is False and widget.choices == [("off", "")] and widget.value == ""
    assert "DF2K_JPEG.pdparams" in widget.info
    assert form.job_options(TransferOptions(), {"super_resolution": ""},
                            unavailable).super_resolution is None
    with pytest.raises(InputError, match="--super_resolution x4 cannot be used here"):
        form.job_options(TransferOptions(), {"super_resolution": "x4"}, unavailable)
    missing = TransferOptions(super_resolution_weights=str(empty_cache / "gone.pdparams"))
    assert "gone.pdparams is not a file" in form.unavailable_options(missing)["super_resolution"]
    (empty_cache / "DF2K_JPEG.pdparams").write_bytes(b"x")  # in the cache: offered
    assert "super_resolution" not in form.unavailable_options(TransferOptions())
