"""The effects panel: what the user chooses, as a validated `EffectParams`, shared by the live and photo views.

Every change emits `params_changed(EffectParams)` and is written back into the `Settings.effect` the panel
was given (saving the file is the app's job). The chosen background and colour stay in the params whatever
the effect, so they are remembered; without a chosen image the first built-in background is selected.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QImageReader, QPixmap
from PySide6.QtWidgets import (
    QColorDialog,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QListView,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from desktop_app.core.batch import GREEN_SCREEN
from desktop_app.core.effects.registry import Param, panel_params, spec_for, specs
from desktop_app.core.imageio import SUPPORTED_IMAGE_EXTENSIONS
from desktop_app.core.params import EffectParams
from desktop_app.core.settings import Settings
from desktop_app.ui.faces_control import FacesControl

REMOVE_MODES = {"transparent": "Transparent", "color": "Solid colour", "green": "Green screen"}
QUALITY_LABELS = {"best": "Best (photos, videos)", "fast": "Fast"}
QUALITY_TIP = ("Photos, videos, opened folders and Export all: Best looks closer at each person in a photo and "
               "decides the edge around every person from the picture's colours, hair included (slower: about a "
               "tenth of a second more a video frame); Fast is the per-frame path. Live has its own setting.")
LIVE_QUALITY_LABELS = {"auto": "Auto", "fast": "Fast", "best": "Best (more CPU)"}
LIVE_QUALITY_TIP = ("The camera and the virtual camera: Best follows the person's edges at half the camera's "
                    "resolution, so they hold steadier while you move, for about 15% more CPU a frame; Fast keeps "
                    "30 frames a second on slower machines. Auto takes Best while this computer keeps up (the status "
                    "bar says which runs).")
DEFAULT_SOLID = (255, 255, 255)
THUMB = QSize(96, 54)
BACKGROUND_ROLE = Qt.ItemDataRole.UserRole

ColorPicker = Callable[[QColor, QWidget], QColor]  # returns an invalid QColor when cancelled
ImagePicker = Callable[[QWidget, str], Path | None]


def _ask_color(initial: QColor, parent: QWidget) -> QColor:
    return QColorDialog.getColor(initial, parent, "Background colour")


def _ask_image(parent: QWidget, start_dir: str) -> Path | None:
    patterns = " ".join(f"*{ext}" for ext in sorted(SUPPORTED_IMAGE_EXTENSIONS))
    name, _ = QFileDialog.getOpenFileName(parent, "Choose a background image", start_dir,
                                          f"Images ({patterns})")
    return Path(name) if name else None


def _thumbnail(path: Path) -> QIcon:
    """A small icon read by Qt at thumbnail size (never decodes the full picture)."""
    reader = QImageReader(str(path))
    reader.setAutoTransform(True)
    size = reader.size()
    if size.isValid():
        reader.setScaledSize(size.scaled(THUMB, Qt.AspectRatioMode.KeepAspectRatioByExpanding))
    image = reader.read()
    return QIcon(QPixmap.fromImage(image)) if not image.isNull() else QIcon()


def _slider(low: int, high: int, value: int, name: str) -> QSlider:
    slider = QSlider(Qt.Orientation.Horizontal)
    slider.setRange(low, high)
    slider.setValue(value)
    slider.setAccessibleName(name)
    slider.setPageStep(max(1, (high - low) // 10))
    return slider


def _choices(labels: dict[str, str], name: str, tip: str = "") -> QComboBox:
    """A combo box of `labels` (data: label), named for screen readers, with its tooltip."""
    combo = QComboBox()
    for key, label in labels.items():
        combo.addItem(label, key)
    combo.setAccessibleName(name)
    if tip:
        combo.setToolTip(tip)
    return combo


class EffectsPanel(QWidget):
    """Effect, blur strength, background, remove mode, threshold, feather, smoothing, photos' and live quality,
    Faces (`faces_control`: combines with every effect but mask)."""

    params_changed = Signal(object)  # EffectParams, validated

    def __init__(self, settings: Settings, backgrounds_dir: Path, parent: QWidget | None = None,
                 *, color_picker: ColorPicker = _ask_color, image_picker: ImagePicker = _ask_image) -> None:
        super().__init__(parent)
        self._settings = settings
        self._backgrounds_dir = Path(backgrounds_dir)
        self._pick_color, self._pick_image = color_picker, image_picker
        self._updating = False
        params = settings.effect
        self._solid = params.color if params.color not in (None, GREEN_SCREEN) else DEFAULT_SOLID
        self._build(params)
        self._params = self._read()
        try:
            self._params.validate()
        except ValueError:  # e.g. "replace" saved without an image and no built-in one to fall back on
            self._params = params.with_(effect="blur") if params.effect == "replace" else EffectParams()
            self._show(self._params)
        self._settings.effect = self._params

    # ------------------------------------------------------------------------------------------ layout

    def _build(self, params: EffectParams) -> None:
        declared = specs()
        self.effect_combo = _choices({spec.name: spec.title for spec in declared}, "Effect")  # by title (registry)

        self._build_pickers()
        # One row per effect with panel parameters, shown while it is chosen: a slider per number, a combo per
        # choice, the background picker for an image, the remove mode and colour for a colour.
        self.param_controls: dict[tuple[str, str], QSlider | QComboBox] = {}
        self.effect_rows: dict[str, QWidget] = {}
        for spec in declared:
            shown = panel_params(spec)
            if shown:
                self.effect_rows[spec.name] = self._param_row(spec.name, shown, params)
        self.strength_slider = self.param_controls[("blur", "strength")]
        assert isinstance(self.strength_slider, QSlider)
        self.strength_slider.setAccessibleName("Blur strength")

        self.threshold_slider = _slider(0, 100, round(params.threshold * 100), "Mask threshold")
        self.feather_slider = _slider(0, 100, round(params.feather * 100), "Edge feather")
        self.smoothing_slider = _slider(0, 95, round(params.smoothing * 100), "Temporal smoothing")
        self.quality_combo = _choices(QUALITY_LABELS, "Photo quality", QUALITY_TIP)
        self.live_quality_combo = _choices(LIVE_QUALITY_LABELS, "Live quality", LIVE_QUALITY_TIP)
        self.faces_control = FacesControl(params)
        self.hint = QLabel()
        self.hint.setWordWrap(True)

        form = QFormLayout()
        form.addRow("Effect", self.effect_combo)
        for row in self.effect_rows.values():
            form.addRow(row)
        form.addRow("Threshold", self.threshold_slider)
        form.addRow("Feather", self.feather_slider)
        form.addRow("Smoothing", self.smoothing_slider)
        form.addRow("Quality", self.quality_combo)
        form.addRow("Live quality", self.live_quality_combo)
        form.addRow(self.faces_control)
        layout = QVBoxLayout(self)
        self.setMinimumWidth(250)  # room for two background thumbnails; the width stays put across effects
        layout.addLayout(form)
        layout.addWidget(self.hint)
        layout.addStretch(1)

        self._show(params)
        self.effect_combo.currentIndexChanged.connect(self._changed)
        for slider in (self.threshold_slider, self.feather_slider, self.smoothing_slider):
            slider.valueChanged.connect(self._changed)
        for control in self.param_controls.values():
            signal = control.valueChanged if isinstance(control, QSlider) else control.currentIndexChanged
            signal.connect(self._changed)
        self.background_list.currentItemChanged.connect(self._changed)
        self.remove_combo.currentIndexChanged.connect(self._changed)
        self.quality_combo.currentIndexChanged.connect(self._changed)
        self.live_quality_combo.currentIndexChanged.connect(self._changed)
        self.faces_control.changed.connect(self._changed)
        self.choose_background_button.clicked.connect(self.choose_background)
        self.color_button.clicked.connect(self.choose_color)

    @property
    def blur_row(self) -> QWidget:
        return self.effect_rows["blur"]

    @property
    def replace_row(self) -> QWidget:
        return self.effect_rows["replace"]

    @property
    def remove_row(self) -> QWidget:
        return self.effect_rows["remove"]

    def _param_row(self, effect: str, shown: list[Param], params: EffectParams) -> QWidget:
        row = QWidget()
        form = QFormLayout(row)
        form.setContentsMargins(0, 0, 0, 0)
        for param in shown:
            if param.kind == "image":
                form.addRow(self._image_picker)
            elif param.kind == "color":
                form.addRow(self._color_picker)
            elif param.kind == "choice":
                combo = _choices({choice: choice for choice in param.choices}, param.title)
                self.param_controls[(effect, param.field)] = combo
                form.addRow(param.title, combo)
            else:
                scale = 1 if param.kind == "int" else 100
                assert param.low is not None and param.high is not None  # registry.check
                slider = _slider(round(param.low * scale), round(param.high * scale),
                                 round(getattr(params, param.field) * scale), param.title)
                slider.setToolTip(param.help)
                self.param_controls[(effect, param.field)] = slider
                form.addRow(param.title, slider)
        return row

    def _build_pickers(self) -> None:
        """The background image picker and the removed background's mode + colour (one each, for the image and
        colour parameters)."""
        self.background_list = QListWidget()
        self.background_list.setViewMode(QListView.ViewMode.IconMode)
        self.background_list.setIconSize(THUMB)
        self.background_list.setFlow(QListView.Flow.LeftToRight)
        self.background_list.setWrapping(True)
        self.background_list.setResizeMode(QListView.ResizeMode.Adjust)
        self.background_list.setMovement(QListView.Movement.Static)
        self.background_list.setMaximumHeight(2 * THUMB.height() + 48)
        self.background_list.setAccessibleName("Background image")
        for path in self.builtin_backgrounds():
            self._add_background(path)
        self.choose_background_button = QPushButton("Choose image…")

        self.remove_combo = _choices(REMOVE_MODES, "Removed background")
        self.color_button = QPushButton("Colour…")
        self.color_button.setAccessibleName("Background colour")

        self._image_picker = QWidget()
        replace_layout = QVBoxLayout(self._image_picker)
        replace_layout.setContentsMargins(0, 0, 0, 0)
        replace_layout.addWidget(self.background_list)
        replace_layout.addWidget(self.choose_background_button, 0, Qt.AlignmentFlag.AlignLeft)

        self._color_picker = QWidget()
        remove_layout = QHBoxLayout(self._color_picker)
        remove_layout.setContentsMargins(0, 0, 0, 0)
        remove_layout.addWidget(self.remove_combo, 1)
        remove_layout.addWidget(self.color_button)

    def builtin_backgrounds(self) -> list[Path]:
        if not self._backgrounds_dir.is_dir():
            return []
        return sorted(p for p in self._backgrounds_dir.iterdir() if p.suffix.lower() in (".jpg", ".jpeg"))

    def _add_background(self, path: Path) -> QListWidgetItem:
        for row in range(self.background_list.count()):
            item = self.background_list.item(row)
            if Path(item.data(BACKGROUND_ROLE)) == path:
                return item
        item = QListWidgetItem(_thumbnail(path), path.stem.replace("_", " "))
        item.setData(BACKGROUND_ROLE, str(path))
        item.setToolTip(str(path))
        self.background_list.addItem(item)
        return item

    # ------------------------------------------------------------------------------------------ state

    def _show(self, params: EffectParams) -> None:
        """Put `params` into the controls without emitting."""
        self._updating = True
        try:
            self.effect_combo.setCurrentIndex(max(0, self.effect_combo.findData(params.effect)))
            for (_effect, name), control in self.param_controls.items():
                value = getattr(params, name)
                if isinstance(control, QSlider):
                    control.setValue(round(value * (1 if isinstance(value, int) else 100)))
                else:
                    control.setCurrentIndex(max(0, control.findData(value)))
            background = params.background
            if background is None or not Path(background).is_file():
                background = next(iter(self.builtin_backgrounds()), None)
            if background is not None:
                self.background_list.setCurrentItem(self._add_background(Path(background)))
            mode = "transparent" if params.color is None else "green" if params.color == GREEN_SCREEN else "color"
            self.remove_combo.setCurrentIndex(self.remove_combo.findData(mode))
            if mode == "color":
                self._solid = params.color or DEFAULT_SOLID
            self.threshold_slider.setValue(round(params.threshold * 100))
            self.feather_slider.setValue(round(params.feather * 100))
            self.smoothing_slider.setValue(round(params.smoothing * 100))
            self.quality_combo.setCurrentIndex(max(0, self.quality_combo.findData(params.quality)))
            self.live_quality_combo.setCurrentIndex(max(0, self.live_quality_combo.findData(params.live_quality)))
            self.faces_control.show_params(params)
        finally:
            self._updating = False
        self._sync_visibility()

    def _sync_visibility(self) -> None:
        effect = self.effect_combo.currentData()
        for name, row in self.effect_rows.items():
            row.setVisible(effect == name)
        self.color_button.setEnabled(self.remove_combo.currentData() == "color")
        self.color_button.setIcon(self._swatch(self._solid))
        refine = spec_for(effect).needs_model  # the mask controls matter only where a model runs
        for control in (self.threshold_slider, self.feather_slider, self.smoothing_slider, self.quality_combo,
                        self.live_quality_combo):
            control.setEnabled(refine)
        self.faces_control.set_effect(effect)

    @staticmethod
    def _swatch(color: tuple[int, int, int]) -> QIcon:
        pixmap = QPixmap(16, 16)
        pixmap.fill(QColor(*color))
        return QIcon(pixmap)

    def _read(self) -> EffectParams:
        """The controls as an (unvalidated) EffectParams."""
        item = self.background_list.currentItem()
        mode = self.remove_combo.currentData()
        color = None if mode == "transparent" else GREEN_SCREEN if mode == "green" else self._solid
        effect = self.effect_combo.currentData()
        params = EffectParams(
            effect=effect,
            background=Path(item.data(BACKGROUND_ROLE)) if item is not None else None,
            color=color,
            threshold=self.threshold_slider.value() / 100,
            feather=self.feather_slider.value() / 100,
            smoothing=self.smoothing_slider.value() / 100,
            quality=self.quality_combo.currentData(),
            live_quality=self.live_quality_combo.currentData(),
        )
        # Each declared parameter from the chosen effect's control, else the first effect's that shows it (the
        # blur strength stays what it was while replace is chosen).
        values: dict[str, object] = {}
        for (owner, name), control in self.param_controls.items():
            if owner == effect or name not in values:
                values[name] = self._value(control, getattr(params, name))
        return params.with_(**values, **self.faces_control.fields())

    @staticmethod
    def _value(control: QSlider | QComboBox, current: object) -> object:
        if isinstance(control, QComboBox):
            return control.currentData()
        return control.value() if isinstance(current, int) else control.value() / 100

    def params(self) -> EffectParams:
        """The last valid parameters (what was last emitted)."""
        return self._params

    def set_params(self, params: EffectParams) -> None:
        """Show `params` (validated) and emit them."""
        params.validate()
        self._show(params)
        self._changed()

    def _changed(self, *_args: object) -> None:
        if self._updating:
            return
        self._sync_visibility()
        params = self._read()
        try:
            params.validate()
        except ValueError as exc:
            self.hint.setText(str(exc).capitalize() + ".")
            return
        self.hint.clear()
        if params == self._params:
            return
        self._params = params
        self._settings.effect = params
        self.params_changed.emit(params)

    # ------------------------------------------------------------------------------------------ dialogs

    def choose_background(self) -> None:
        """Ask for an image file and use it as the replacement background."""
        current = self._params.background
        start = str(current.parent) if current is not None else self._settings.last_open_dir
        path = self._pick_image(self, start)
        if path is None:
            return
        self._updating = True
        try:
            self.background_list.setCurrentItem(self._add_background(Path(path)))
            self.effect_combo.setCurrentIndex(self.effect_combo.findData("replace"))
        finally:
            self._updating = False
        self._changed()

    def choose_color(self) -> None:
        """Ask for a solid colour for the removed background."""
        chosen = self._pick_color(QColor(*self._solid), self)
        if not chosen.isValid():
            return
        self._solid = (chosen.red(), chosen.green(), chosen.blue())
        self._updating = True
        try:
            self.remove_combo.setCurrentIndex(self.remove_combo.findData("color"))
        finally:
            self._updating = False
        self._changed()
