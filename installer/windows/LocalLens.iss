; Inno Setup 6 script for LocalLens: a per-user installer that needs no administrator rights.
; Built by `python installer/build.py` on Windows, which runs:
;   iscc /DAppVersion=<version> /DAppSourceDir=<repo>\dist\LocalLens /O<repo>\dist installer\windows\LocalLens.iss
; and produces dist\LocalLens-Setup-<version>.exe.
;
; VC++ 2015-2022 x64 runtime: onnxruntime needs a recent one. It ships app-local: installer/locallens.spec
; copies vcruntime140*.dll / msvcp140*.dll from the build machine's System32 (the newest vc_redist there)
; into {app}\_internal, next to the libraries that load them. So nothing is installed system-wide, no admin
; rights are needed, and vc_redist.x64.exe is never run.

#ifndef AppVersion
  #define AppVersion "0.0.0"
#endif
#ifndef AppSourceDir
  #define AppSourceDir "..\..\dist\LocalLens"
#endif
#define AppName "LocalLens"
#define AppExe "LocalLens.exe"

[Setup]
; AppId identifies the app to the uninstaller across versions: never change it.
AppId={{6F1C2B1E-4C1A-4E0B-9A57-3B7C2C51D0A4}
AppName={#AppName}
AppVersion={#AppVersion}
AppVerName={#AppName} {#AppVersion}
AppPublisher=LocalLens contributors
AppComments=On-device background blur, replacement and removal. Nothing leaves this computer.
VersionInfoVersion={#AppVersion}
; Per-user install: %LOCALAPPDATA%\Programs\LocalLens, no UAC prompt.
PrivilegesRequired=lowest
DefaultDirName={localappdata}\Programs\{#AppName}
DefaultGroupName={#AppName}
DisableProgramGroupPage=yes
DisableDirPage=auto
UsePreviousAppDir=yes
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
MinVersion=10.0
OutputDir=..\..\dist
OutputBaseFilename={#AppName}-Setup-{#AppVersion}
SetupIconFile=..\..\assets\icons\locallens.ico
UninstallDisplayIcon={app}\{#AppExe}
UninstallDisplayName={#AppName} {#AppVersion}
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern
CloseApplications=yes
RestartApplications=no

[Languages]
Name: "english"; MessagesFile: "compiler:Default.isl"

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked

[Files]
; The whole one-folder build: LocalLens.exe (windowed), LocalLens-cli.exe (console) and _internal\.
Source: "{#AppSourceDir}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[InstallDelete]
; A previous version's libraries must not linger next to the new ones.
Type: filesandordirs; Name: "{app}\_internal"

[Icons]
Name: "{autoprograms}\{#AppName}"; Filename: "{app}\{#AppExe}"; WorkingDir: "{app}"
Name: "{autodesktop}\{#AppName}"; Filename: "{app}\{#AppExe}"; WorkingDir: "{app}"; Tasks: desktopicon

[Run]
Filename: "{app}\{#AppExe}"; Description: "{cm:LaunchProgram,{#AppName}}"; Flags: nowait postinstall skipifsilent
