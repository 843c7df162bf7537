"""The effects panel's Faces control: off / blur / pixelate / box, and (under "More") shape, padding, threshold.

It combines with every background effect except `mask` (whose output is the mask, not a picture): while `mask`
is chosen it is disabled, says why in its tooltip, and reads as faces off. The choices come from the faces
stage's declaration (`registry.stage_params("faces")`), through `face_choices`.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QFormLayout, QHBoxLayout, QSlider, QToolButton, QWidget

from desktop_app.core.effects.registry import FACES_STAGE, stage_params
from desktop_app.core.params import EffectParams

OFF = "off"  # the combo's data for faces off (EffectParams.faces None)
SHAPE_LABELS = {"ellipse": "Ellipse", "rect": "Rectangle"}
FACES_TIP = ("Hide every face the detector finds (after the background effect). On the Photos tab the faces "
             "found are outlined so you can check them before saving.")
MASK_TIP = "Faces cannot be hidden with the Mask effect: its output is the mask, not a picture."
NO_FACES_EFFECTS = ("mask",)  # the faces stage refuses these (FACES.md)


def face_choices() -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(label, value) pairs for the style combo (with Off first) and the shape combo.

    From the faces stage's declared `faces` and `face_shape` parameters."""
    declared = {param.field: param for param in stage_params(FACES_STAGE)}
    style, shape = declared["faces"], declared["face_shape"]
    styles = [(style.off or "Off", OFF)] + [(value.capitalize(), value) for value in style.choices]
    shapes: list[tuple[str, str]] = [(SHAPE_LABELS.get(value, value.capitalize()), value) for value in shape.choices]
    return styles, shapes


def _slider(value: float, name: str, tip: str, low: int = 0, high: int = 100) -> QSlider:
    slider = QSlider(Qt.Orientation.Horizontal)
    slider.setRange(low, high)
    slider.setValue(round(value * 100))
    slider.setAccessibleName(name)
    slider.setToolTip(tip)
    slider.setPageStep(10)
    return slider


class FacesControl(QWidget):
    """`fields()` -> the EffectParams faces fields; `show(params)` sets them without emitting `changed`."""

    changed = Signal()

    def __init__(self, params: EffectParams, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        styles, shapes = face_choices()
        self.style_combo = QComboBox()
        for label, value in styles:
            self.style_combo.addItem(label, value)
        self.style_combo.setAccessibleName("Faces")
        self.more_button = QToolButton()
        self.more_button.setText("More")
        self.more_button.setCheckable(True)
        self.more_button.setAccessibleName("More face options")
        self.more_button.setToolTip("Shape, padding and detection threshold of the hidden faces")
        self.shape_combo = QComboBox()
        for label, value in shapes:
            self.shape_combo.addItem(label, value)
        self.shape_combo.setAccessibleName("Face shape")
        self.padding_slider = _slider(params.face_padding, "Face padding",
                                      "Grow each face's box by this share of its size on every side")
        self.threshold_slider = _slider(params.face_threshold, "Face threshold",
                                        "The detector's confidence a face needs: lower finds more (and more "
                                        "false ones)", low=5, high=95)

        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(self.style_combo, 1)
        top.addWidget(self.more_button)
        self.more_row = QWidget()
        more = QFormLayout(self.more_row)
        more.setContentsMargins(0, 0, 0, 0)
        more.addRow("Shape", self.shape_combo)
        more.addRow("Padding", self.padding_slider)
        more.addRow("Confidence", self.threshold_slider)
        self.more_row.setVisible(False)
        layout = QFormLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addRow("Faces", top)
        layout.addRow(self.more_row)

        self._allowed = True
        self._updating = False
        self.show_params(params)
        self.more_button.toggled.connect(self.more_row.setVisible)
        self.style_combo.currentIndexChanged.connect(self._emit)
        self.shape_combo.currentIndexChanged.connect(self._emit)
        self.padding_slider.valueChanged.connect(self._emit)
        self.threshold_slider.valueChanged.connect(self._emit)

    def _emit(self, *_args: object) -> None:
        if not self._updating:
            self.changed.emit()

    def show_params(self, params: EffectParams) -> None:
        """Put the faces fields of `params` into the controls without emitting (faces off keeps the style shown
        when the effect does not allow faces: switching back restores it)."""
        self._updating = True
        try:
            if params.faces is not None or params.effect not in NO_FACES_EFFECTS:
                self.style_combo.setCurrentIndex(max(0, self.style_combo.findData(params.faces or OFF)))
            self.shape_combo.setCurrentIndex(max(0, self.shape_combo.findData(params.face_shape)))
            self.padding_slider.setValue(round(params.face_padding * 100))
            self.threshold_slider.setValue(round(params.face_threshold * 100))
        finally:
            self._updating = False

    def set_effect(self, effect: str) -> None:
        """Enable the control for `effect`, or disable it (with the reason as its tooltip) for `mask`."""
        self._allowed = effect not in NO_FACES_EFFECTS
        tip = FACES_TIP if self._allowed else MASK_TIP
        for widget in (self.style_combo, self.more_button, self.more_row):
            widget.setEnabled(self._allowed)
        self.style_combo.setToolTip(tip)
        self.setToolTip(tip)

    def fields(self) -> dict[str, object]:
        """The faces fields for EffectParams.with_: faces None while off or not allowed."""
        style = self.style_combo.currentData()
        return {
            "faces": None if style == OFF or not self._allowed else style,
            "face_shape": self.shape_combo.currentData(),
            "face_padding": self.padding_slider.value() / 100,
            "face_threshold": self.threshold_slider.value() / 100,
        }
